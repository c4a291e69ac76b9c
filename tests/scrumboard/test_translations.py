"""The Russian and Kazakh catalogues: complete, well-formed, current with the sources, used by the pages.

A string added to the code or a template without a translation fails ``test_catalogue_is_current``
with its msgid; run the ``makemessages`` line below, translate the new entries and run the suite again:

    .venv/bin/python manage.py makemessages -l ru -l kk --ignore=.venv --ignore=tests --ignore=var \
        --ignore=staticfiles --ignore=build --no-obsolete
"""

import datetime
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import formats, translation

BASE_DIR = Path(settings.BASE_DIR)
IN_CI = os.environ.get("CI", "").lower() == "true"
LANGS = ["ru", "kk"]
PLURAL_FORMS = {
    "ru": "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);",
    "kk": "nplurals=2; plural=(n != 1);",
}
NPLURALS = {"ru": 3, "kk": 2}
MAKEMESSAGES_IGNORE = [".venv", "tests", "var", "staticfiles", "build"]
# Not copied for the fresh extraction: besides what makemessages ignores, caches and compiled files.
COPY_IGNORE = [
    *MAKEMESSAGES_IGNORE,
    ".git",
    "locale",
    "node_modules",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    "test-artifacts",
    "*.egg-info",
    "*.mo",
    "*.pyc",
]

# The Scrum glossary: an entry whose msgid says the English term must use the agreed translation
# (case-insensitive; a regex so that inflected forms match).
GLOSSARY = {
    r"\bbacklog": {"ru": r"бэклог", "kk": r"бэклог"},
    r"\bsprint": {"ru": r"спринт", "kk": r"спринт"},
    r"\bdaily scrum": {"ru": r"ежедневн\w* скрам", "kk": r"күнделікті скрам"},
    r"\bretrospective": {"ru": r"ретроспектив", "kk": r"ретроспектива"},
    r"\bsprint review": {"ru": r"обзор\w* спринта", "kk": r"спринт шолу"},
    r"\bproduct owner": {"ru": r"владел\w* продукта", "kk": r"өнім иесі"},
    r"\bscrum master": {"ru": r"скрам-мастер", "kk": r"скрам-шебер"},
    r"\bproduct goal": {"ru": r"цел\w* продукта", "kk": r"өнім мақсат"},
    r"\bacceptance criteria": {"ru": r"критери\w* приёмки", "kk": r"қабылдау критерий"},
    r"\bdefinition of done": {"ru": r"критери\w* готовности", "kk": r"дайын болу анықтама"},
    r"\bdefinition of ready": {"ru": r"готовности к работе", "kk": r"дайындық критерий"},
    r"\bepic": {"ru": r"эпик", "kk": r"эпик"},
    r"\broadmap": {"ru": r"дорожн\w* карт", "kk": r"жол карта"},
}

# %(name)s, %s, %d, %.1f ... but not the literal %%.
PYTHON_FORMAT = re.compile(r"%(?:\((?P<name>[^)]*)\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa]")
BRACE_FORMAT = re.compile(r"(?<!\{)\{(?P<field>[^{}]*)\}(?!\})")
HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
HTML_ENTITY = re.compile(r"&#?\w+;")


def po_path(lang: str) -> Path:
    return BASE_DIR / "locale" / lang / "LC_MESSAGES" / "django.po"


def load(lang: str) -> polib.POFile:
    return polib.pofile(str(po_path(lang)), encoding="utf-8")


def live(po: polib.POFile) -> list[polib.POEntry]:
    return [entry for entry in po if not entry.obsolete]


def label(entry: polib.POEntry) -> str:
    where = f" ({entry.occurrences[0][0]}:{entry.occurrences[0][1]})" if entry.occurrences else ""
    context = f" [context {entry.msgctxt!r}]" if entry.msgctxt else ""
    return f"{entry.msgid!r}{context}{where}"


def translations(entry: polib.POEntry) -> list[str]:
    if entry.msgid_plural:
        return [entry.msgstr_plural[i] for i in sorted(entry.msgstr_plural)]
    return [entry.msgstr]


def python_placeholders(text: str) -> list[str]:
    """Named placeholders as a set; positional ones in order (their order is their meaning)."""
    found = [m.group(0) for m in PYTHON_FORMAT.finditer(text.replace("%%", ""))]
    named = sorted({p for p in found if p.startswith("%(")})
    positional = [p for p in found if not p.startswith("%(")]
    return named + positional


def edges(text: str) -> tuple[str, str]:
    """The leading and trailing whitespace (newlines included)."""
    return text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]


def require_tool(name: str) -> None:
    if shutil.which(name) is None:
        message = f"GNU gettext's {name} is missing (make gettext installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(params=LANGS)
def lang(request) -> str:
    return request.param


def test_header_names_the_language_utf8_and_its_plural_forms(lang):
    po = load(lang)
    assert po.metadata.get("Language") == lang
    assert "charset=UTF-8" in po.metadata.get("Content-Type", "")
    assert po.metadata.get("Plural-Forms") == PLURAL_FORMS[lang]
    assert not po.metadata_is_fuzzy, "the header is still marked fuzzy"


def test_every_entry_is_translated_and_none_is_fuzzy(lang):
    po = load(lang)
    untranslated = [label(e) for e in live(po) if not all(s.strip() for s in translations(e))]
    fuzzy = [label(e) for e in live(po) if "fuzzy" in e.flags]
    assert not untranslated, f"{len(untranslated)} untranslated in {lang}: " + "; ".join(untranslated)
    assert not fuzzy, f"{len(fuzzy)} fuzzy in {lang}: " + "; ".join(fuzzy)


def test_plural_entries_have_exactly_nplurals_forms(lang):
    wrong = [
        f"{label(e)} has {len(e.msgstr_plural)}"
        for e in live(load(lang))
        if e.msgid_plural and sorted(e.msgstr_plural) != list(range(NPLURALS[lang]))
    ]
    assert not wrong, f"{lang} needs {NPLURALS[lang]} plural forms: " + "; ".join(wrong)


def test_placeholders_markup_and_edge_whitespace_are_kept(lang):
    problems = []
    for entry in live(load(lang)):
        sources = [entry.msgid, entry.msgid_plural] if entry.msgid_plural else [entry.msgid]
        for text in translations(entry):
            if "python-format" in entry.flags:
                if entry.msgid_plural:
                    # Every form stands for many numbers (ru form 0 is also 21, 31...): all keep the union.
                    expected = sorted({p for source in sources for p in python_placeholders(source)})
                    got = sorted(set(python_placeholders(text)))
                else:
                    expected, got = python_placeholders(entry.msgid), python_placeholders(text)
                if got != expected:
                    problems.append(f"{label(entry)}: placeholders {got} in {text!r}, expected {expected}")
            if "python-brace-format" in entry.flags:
                expected_fields = sorted({m.group("field") for s in sources for m in BRACE_FORMAT.finditer(s)})
                got_fields = sorted({m.group("field") for m in BRACE_FORMAT.finditer(text)})
                if got_fields != expected_fields:
                    problems.append(f"{label(entry)}: fields {got_fields} in {text!r}, expected {expected_fields}")
            for pattern, what in ((HTML_TAG, "tags"), (HTML_ENTITY, "entities")):
                expected_markup = sorted(pattern.findall(entry.msgid))
                if sorted(pattern.findall(text)) != expected_markup:
                    problems.append(f"{label(entry)}: {what} changed in {text!r}, expected {expected_markup}")
            if edges(text) != edges(entry.msgid):
                problems.append(f"{label(entry)}: leading/trailing whitespace differs in {text!r}")
    assert not problems, f"{lang}:\n" + "\n".join(problems)


def test_scrum_terms_follow_the_glossary(lang):
    problems = []
    for entry in live(load(lang)):
        for english, wanted in GLOSSARY.items():
            if re.search(english, entry.msgid, re.IGNORECASE):
                for text in translations(entry):
                    if not re.search(wanted[lang], text, re.IGNORECASE):
                        problems.append(f"{label(entry)}: {text!r} should say /{wanted[lang]}/")
    assert not problems, f"{lang} strays from the glossary:\n" + "\n".join(problems)


def test_msgfmt_accepts_the_catalogue(lang, tmp_path):
    require_tool("msgfmt")
    result = subprocess.run(
        [
            "msgfmt",
            "--check-format",
            "--check-header",
            "--check-domain",
            "-o",
            str(tmp_path / "django.mo"),
            str(po_path(lang)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def entry_key(entry: polib.POEntry) -> tuple:
    return (entry.msgctxt or "", entry.msgid, entry.msgid_plural or "")


def describe(key: tuple) -> str:
    context, msgid, plural = key
    return repr(msgid) + (f" / plural {plural!r}" if plural else "") + (f" [context {context!r}]" if context else "")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> dict[str, set[tuple]]:
    """The msgids makemessages finds in the sources now, extracted from a copy of the tree.

    A copy, because makemessages writes into the locale directory beside the sources it scans:
    run in the project itself, it would rewrite the catalogues under test.
    """
    require_tool("xgettext")
    require_tool("msgmerge")
    root = tmp_path_factory.mktemp("makemessages")
    tree = root / "src"
    shutil.copytree(BASE_DIR, tree, ignore=shutil.ignore_patterns(*COPY_IGNORE), symlinks=True)
    before = {lang: po_path(lang).read_bytes() for lang in LANGS}
    env = {**os.environ, "SCRUMBOARD_VAR_DIR": str(root / "var"), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "manage.py", "makemessages", "--no-obsolete", "--no-location"]
    command += [f"--locale={lang}" for lang in LANGS] + [f"--ignore={pattern}" for pattern in MAKEMESSAGES_IGNORE]
    result = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert {lang: po_path(lang).read_bytes() for lang in LANGS} == before, "makemessages wrote into the project"
    found = {}
    for lang in LANGS:
        fresh = tree / "locale" / lang / "LC_MESSAGES" / "django.po"
        assert fresh.exists(), f"makemessages wrote no {fresh}: {result.stdout}{result.stderr}"
        found[lang] = {entry_key(e) for e in live(polib.pofile(str(fresh), encoding="utf-8"))}
    return found


def test_catalogue_is_current(lang, extracted):
    """Every string in the sources has an entry, and no entry is left over from a removed string."""
    in_catalogue = {entry_key(e) for e in live(load(lang))}
    missing = sorted(extracted[lang] - in_catalogue)
    stale = sorted(in_catalogue - extracted[lang])
    assert extracted[lang], "makemessages found no strings at all"
    assert not missing, (
        f"{len(missing)} string(s) in the sources have no entry in locale/{lang}/LC_MESSAGES/django.po "
        "(run makemessages as in this module's docstring and translate them): "
        + "; ".join(describe(key) for key in missing)
    )
    assert not stale, (
        f"{len(stale)} entr(y/ies) in locale/{lang}/LC_MESSAGES/django.po no longer appear in the sources "
        "(run makemessages with --no-obsolete): " + "; ".join(describe(key) for key in stale)
    )


@pytest.fixture
def compiled_locale(settings, tmp_path):
    """The catalogues under test compiled afresh, so a stale or missing .mo cannot hide a broken .po."""
    for lang in LANGS:
        target = tmp_path / "locale" / lang / "LC_MESSAGES"
        target.mkdir(parents=True)
        load(lang).save_as_mofile(str(target / "django.mo"))
    settings.LOCALE_PATHS = [tmp_path / "locale"]  # resets Django's translation caches


PAGES = {
    # page: {language: (translated text that must appear, English text that must not)}
    "/projects/": {
        "ru": ("Ваши проекты", "Your projects"),
        "kk": ("Сіздің жобаларыңыз", "Your projects"),
    },
    "/projects/SB/team/": {
        "ru": ("Ожидающие приглашения", "Pending invitations"),
        "kk": ("Күтудегі шақырулар", "Pending invitations"),
    },
}
# On both pages: the layout, and the team page's role names stored in English and translated when shown.
COMMON = {
    "ru": [("Проекты", ">Projects<"), ("Выйти", "Log out")],
    "kk": [("Жобалар", ">Projects<"), ("Шығу", "Log out")],
}
TEAM = {
    "ru": [("Команда", ">Team<"), ("Скрам-мастер / руководитель проекта", "Scrum Master / Project Manager")],
    "kk": [("Команда", ">Team<"), ("Скрам-шебер / жоба жетекшісі", "Scrum Master / Project Manager")],
}


@pytest.mark.parametrize("path", list(PAGES))
def test_pages_render_in_the_chosen_language(client, team, compiled_locale, lang, path):
    client.force_login(team.admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang

    response = client.get(path, HTTP_ACCEPT_LANGUAGE=lang)

    assert response.status_code == 200
    html = response.content.decode()
    assert f'<html lang="{lang}">' in html
    checks = [PAGES[path][lang], *COMMON[lang], *(TEAM[lang] if path.endswith("/team/") else [])]
    for translated, english in checks:
        assert translated in html, f"{path} in {lang} lacks {translated!r}"
        assert english not in html, f"{path} in {lang} still shows {english!r}"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("ru", ["1 января", "25 ноября", "31 декабря"]), ("kk", ["1 қаңтар", "25 қараша", "31 желтоқсан"])],
)
def test_a_day_and_month_in_running_text_has_a_lower_case_month(compiled_locale, lang, expected):
    """Django's Kazakh month names are capitalised ("25 Қараша"); the project's catalogue wins."""
    days = [datetime.date(2026, 1, 1), datetime.date(2026, 11, 25), datetime.date(2026, 12, 31)]
    with translation.override(lang):
        assert [formats.date_format(day, "MONTH_DAY_FORMAT") for day in days] == expected
