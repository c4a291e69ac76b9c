"""The OpenAPI examples, recorded from real requests against the demo project: api_examples.json.

``manage.py record_api_examples`` writes the file (scrumboard/api_examples_recorder.py);
``scrumboard.schema.document_examples`` puts its entries into the schema.
"""

import json
from pathlib import Path
from typing import Any

EXAMPLES_FILE = Path(__file__).with_name("api_examples.json")
EXAMPLE_NAME = "demo"


def operation_key(method: str, path: str) -> str:
    """The file's key of an operation: ``"POST /api/v1/projects/{key}/items/"``."""
    return f"{method.upper()} {path}"


def load_examples() -> dict[str, dict[str, Any]]:
    """``operation key -> {"request": body or null, "response": {"status": "201", "body": ...}}``."""
    return json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))
