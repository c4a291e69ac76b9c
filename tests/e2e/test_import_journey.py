"""A Scrum Master brings the team's Jira backlog over: uploads the CSV export, checks the preview,
runs the import, watches the progress bar reach 100 %, and finds the items in the backlog."""

import os
import threading
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import expect

from integrations import tasks
from integrations.importing import jobs
from tests.e2e.pages import log_in
from tests.factories import UserFactory, make_project

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SAMPLE = Path(__file__).resolve().parents[1] / "integrations" / "importing" / "files" / "jira-export.csv"
SHOTS = os.environ.get("IMPORT_SHOTS_DIR", "")  # set to keep screenshots of each step


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def _run_later(job_id: int) -> None:
    """The worker, in a thread: picks the job up a moment later, as a real one would."""

    def work() -> None:
        try:
            jobs.run_job(job_id)
        finally:
            connections.close_all()

    threading.Timer(1.5, work).start()


def test_scrum_master_imports_a_jira_export_and_finds_the_items_in_the_backlog(live_server, new_page, monkeypatch):
    lead = UserFactory(username="lead", first_name="Aigerim", last_name="Nurlanovna")
    make_project(admin=lead, key="CRM", name="Clinic CRM")
    monkeypatch.setattr(tasks.run_import, "delay", _run_later)
    page = new_page()
    log_in(page, live_server.url, "lead")

    # Integrations → Import: upload the export, letting Scrumboard detect its format.
    page.goto(live_server.url + "/projects/CRM/integrations/imports/")
    expect(page.get_by_role("heading", name="Upload a file")).to_be_visible()
    page.get_by_label("Export file").set_input_files(str(SAMPLE))
    shot(page, "1-upload")
    page.get_by_role("button", name="Upload and preview").click()

    # The preview: what each status becomes, the sprints, the people, and nothing imported yet.
    expect(page.get_by_role("heading", name="Preview: what the import will do")).to_be_visible()
    expect(page.get_by_role("heading", name="Statuses")).to_be_visible()
    expect(page.get_by_role("region", name="Sprints").get_by_role("cell", name="CRM Sprint 1")).to_be_visible()
    expect(page.locator("[data-unmatched]")).to_contain_text("Daniyar Seitkali")
    expect(page.locator("[data-preview-counts]")).to_contain_text("New items")
    shot(page, "2-preview")

    # Run: the job page follows the worker and reloads when it has finished.
    page.get_by_role("button", name="Run import").click()
    expect(page.get_by_text("Import queued. This page follows its progress.")).to_be_visible()
    expect(page.locator("#import-progress")).to_be_visible()
    shot(page, "3-running")
    expect(page.locator("[data-import-state]")).to_have_text("Succeeded", timeout=20_000)
    expect(page.locator("#import-progress")).to_have_attribute("value", "100")
    expect(page.locator("#import-percent")).to_contain_text("100 % · 10 of 10 rows")
    expect(page.locator("[data-import-result]")).to_contain_text("Items created")
    shot(page, "4-done")

    # The backlog holds the imported items, Kazakh and Russian titles intact.
    page.get_by_role("link", name="Open the backlog").click()
    expect(page.get_by_text("Design the database schema, ERD included")).to_be_visible()
    expect(page.get_by_text("Пациенттерді тіркеу формасы", exact=False)).to_be_visible()
    shot(page, "5-backlog")
