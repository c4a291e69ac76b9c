"""Column titles: a template's own in the reader's language ("Start" as the verb), custom ones as typed."""

import pytest
from django.utils import translation

from retrospectives.models import column_title


@pytest.mark.parametrize(
    ("language", "title", "shown"),
    [
        ("ru", "Start", "Начать"),  # Start / Stop / Continue: "start doing", not "the beginning"
        ("kk", "Start", "Бастау"),
        ("en", "Start", "Start"),
        ("ru", "Went well", "Что прошло хорошо"),
        ("ru", "Stop", "Прекратить"),
    ],
)
def test_template_column_titles_are_translated(language, title, shown):
    with translation.override(language):
        assert column_title(title) == shown


def test_custom_column_titles_stay_as_typed():
    with translation.override("ru"):
        assert column_title("Ideas for the offsite") == "Ideas for the offsite"
