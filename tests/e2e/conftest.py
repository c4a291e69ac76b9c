"""Browser journeys: Debian's Chromium driven by Playwright against pytest-django's live server.

One browser per test session; every test gets fresh contexts (cookies, storage) from
``new_page``. A failing test leaves a screenshot of each of its pages in test-artifacts/.
"""

import os
import re
from pathlib import Path

import pytest
from django.test.utils import override_settings

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def playwright_driver():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an asyncio loop in this thread; Django's ORM calls from the
    # test body (factories, assertions) are still synchronous and safe here. Set only while
    # browsers run, so subprocesses of other tests do not inherit it.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as driver:
            yield driver
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def browser(playwright_driver):
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM} (make test installs Debian's chromium as root)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)  # under CI a skipped journey would count as a pass
        pytest.skip(message)
    browser = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def _plain_http_settings():
    # The live server speaks plain HTTP. Its middleware reads these settings once, when
    # the (session-wide) server starts, so a per-test ``settings`` change comes too late.
    with override_settings(
        SECURE_SSL_REDIRECT=False, SESSION_COOKIE_SECURE=False, CSRF_COOKIE_SECURE=False, SECURE_HSTS_SECONDS=0
    ):
        yield


@pytest.fixture(scope="session")
def live_server(_plain_http_settings, live_server):
    """pytest-django's live server, started after the plain-HTTP settings are in place."""
    return live_server


@pytest.fixture
def e2e_settings(settings, live_server):
    """Links in e-mails point at the live server."""
    settings.SITE_URL = live_server.url
    return settings


@pytest.fixture
def new_page(request, browser, e2e_settings):
    """``new_page()`` opens a page in a fresh browser context (a separate person)."""
    contexts = []

    def open_page(**context_options):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, **context_options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page

    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
        for n, context in enumerate(contexts):
            for m, page in enumerate(context.pages):
                page.screenshot(path=str(ARTIFACTS / f"{name}-{n}-{m}.png"), full_page=True)
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()
