"""What every browser journey does: log in through the real form."""

import re

from playwright.sync_api import expect

from tests.factories import PASSWORD


def log_in(page, base_url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(base_url + "/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/projects/$"))
