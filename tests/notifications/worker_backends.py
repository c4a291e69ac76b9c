"""An e-mail backend for the Celery worker the worker tests start: one JSON line per message.

The worker reads ``EMAIL_BACKEND`` from its environment; this backend appends to the file named
by ``SCRUMBOARD_TEST_MAIL_LOG``, so the test counts what the worker really sent, across processes.
With ``SCRUMBOARD_TEST_MAIL_STALL`` set to an address, the first message to it (only the first:
the marker file is created exclusively) writes ``SCRUMBOARD_TEST_MAIL_STARTED`` and then sleeps,
so the test can kill the worker in the middle of a delivery.
"""

import json
import os
import time
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend

MAIL_LOG = "SCRUMBOARD_TEST_MAIL_LOG"
STALL_TO = "SCRUMBOARD_TEST_MAIL_STALL"
STARTED = "SCRUMBOARD_TEST_MAIL_STARTED"
# Longer than any test waits: the test kills the worker long before it wakes.
STALL_SECONDS = 300


def _line(message) -> str:
    return json.dumps({"to": list(message.to), "subject": message.subject}) + "\n"


class MailLogBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        log = Path(os.environ[MAIL_LOG])
        stall_to = os.environ.get(STALL_TO)
        for message in email_messages:
            if stall_to and stall_to in message.to and self._first_stall(message):
                time.sleep(STALL_SECONDS)
            # One short O_APPEND write per message: whole lines even with several writers.
            with log.open("a") as file:
                file.write(_line(message))
        return len(email_messages)

    @staticmethod
    def _first_stall(message) -> bool:
        try:
            with Path(os.environ[STARTED]).open("x") as marker:
                marker.write(_line(message))
        except FileExistsError:
            return False
        return True
