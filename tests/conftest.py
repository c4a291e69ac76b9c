"""Shared fixtures: personas in one project, clients, the CI rule for service-marked tests.

Personas (the permission matrix uses the same names):
admin (Scrum Master role + administrator flag), scrum_master (Scrum Master role),
product_owner, developer (Backend Developer), stakeholder (read-only), outsider
(logged in, not a member), anonymous.
"""

import os
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from roles.policy import forget_memberships
from tests.factories import UserFactory, make_member, make_project

IN_CI = os.environ.get("CI", "").lower() == "true"


def _uses_postgres() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


def _missing_services() -> dict[str, str]:
    reasons = {
        "postgres": None if _uses_postgres() else "needs DATABASE_URL pointing at PostgreSQL",
        "redis": None if os.environ.get("REDIS_URL") else "needs REDIS_URL",
    }
    return {marker: reason for marker, reason in reasons.items() if reason}


def pytest_collection_modifyitems(config, items):
    if IN_CI:
        return  # under CI a service-marked test must run: pytest_runtest_setup fails it instead
    missing = _missing_services()
    for item in items:
        for marker, reason in missing.items():
            if item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(reason=reason))


def pytest_runtest_setup(item):
    """Under CI a skip would hide a broken setup: a test needing a missing service fails at once."""
    if not IN_CI:
        return
    needed = [marker for marker in _missing_services() if item.get_closest_marker(marker)]
    if needed:
        pytest.fail(f"CI=true but the service this test needs ({', '.join(needed)}) is not configured")


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    if not settings.REDIS_URL:
        # A cache of the test's own: the default file cache in var/ is shared with every
        # other process (a dev server, a parallel test run), which would clear or fill it
        # under this test (throttling counts would jump or vanish).
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                "LOCATION": str(tmp_path / "cache"),
            }
        }
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SECURE_SSL_REDIRECT = False
    settings.SITE_URL = "https://scrumboard.example.com"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clear_cache(_test_settings):
    cache.clear()
    yield
    cache.clear()


@dataclass
class Team:
    project: object
    admin: object
    scrum_master: object
    product_owner: object
    developer: object
    stakeholder: object
    outsider: object

    def persona(self, name: str):
        return None if name == "anonymous" else getattr(self, name)


@pytest.fixture
def team(db) -> Team:
    admin = UserFactory(username="admin")
    project = make_project(admin=admin, key="SB", name="Scrumboard")
    return Team(
        project=project,
        admin=admin,
        scrum_master=make_member(project, "scrum-master", user=UserFactory(username="sm")).user,
        product_owner=make_member(project, "product-owner", user=UserFactory(username="po")).user,
        developer=make_member(project, "backend", user=UserFactory(username="dev")).user,
        stakeholder=make_member(project, "stakeholder", user=UserFactory(username="stake")).user,
        outsider=UserFactory(username="outsider"),
    )


@pytest.fixture
def project(team):
    return team.project


@pytest.fixture
def admin(team):
    return team.admin


@pytest.fixture
def scrum_master(team):
    return team.scrum_master


@pytest.fixture
def product_owner(team):
    return team.product_owner


@pytest.fixture
def developer(team):
    return team.developer


@pytest.fixture
def stakeholder(team):
    return team.stakeholder


@pytest.fixture
def outsider(team):
    return team.outsider


class RequestScopedAPIClient(APIClient):
    """Forgets the forced user's cached memberships before each request.

    In production every request loads its user afresh, so the policy's per-request
    cache starts empty; a forced user object would otherwise carry it across requests.
    """

    def request(self, **kwargs):
        user = self.handler._force_user
        if user is not None:
            forget_memberships(user)
        return super().request(**kwargs)


@pytest.fixture
def api():
    """An APIClient; ``api.force_authenticate(user)`` or ``api.as_(user)`` to act as someone."""
    client = RequestScopedAPIClient()

    def as_(user):
        client.force_authenticate(user=user)
        return client

    client.as_ = as_
    return client
