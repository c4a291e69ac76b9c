"""An id of another project's object (or another user's token) is not found through yours.

The caller is the administrator of SB, who may do anything there: a 404 can only
mean the object was looked up outside the URL's project (or outside the caller's
tokens). Every API route that takes an object id besides the project key is
enumerated from the URLconf, so a new one without an entry in FOREIGN (here, or in
an app's ``tests/<app>/matrix_rows.py``) fails ``test_every_detail_route_has_a_foreign_object``.
"""

import pytest
from django.forms.models import model_to_dict
from django.urls import reverse

from backlog.services import add_comment, create_item
from integrations.services import create_token
from roles.models import Role
from roles.services import create_role, invite_member
from tests.factories import UserFactory, make_member, make_project
from tests.matrix import Foreign, app_foreign, url_routes

# URL arguments that name the project rather than an object in it.
PROJECT_PARAMS = frozenset({"key"})

DETAIL_ROUTES = sorted(
    (route for route in url_routes() if route.is_api and route.params - PROJECT_PARAMS),
    key=lambda route: route.name,
)


def foreign_membership(team):
    other = make_project(key="XX")
    return make_member(other, "backend")


def foreign_invitation(team):
    other = make_project(key="XX")
    owner = other.memberships.get().user
    role = Role.objects.get(project=other, slug="backend")
    return invite_member(project=other, email="someone@example.com", role=role, by=owner)[0]


def foreign_role(team):
    other = make_project(key="XX")
    owner = other.memberships.get().user
    return create_role(project=other, name="Foreign QA", permissions=["view"], by=owner)


def foreign_token(team):
    return create_token(user=UserFactory(), name="not yours", scope="write")[0]


def foreign_item(team):
    """XX-1, while SB has an SB-1 too: a lookup by number alone would find the wrong one."""
    create_item(project=team.project, by=team.admin, title="Ours")
    other = make_project(key="XX")
    return create_item(project=other, by=other.memberships.get().user, title="Theirs")


def foreign_comment(team):
    item = foreign_item(team)
    return add_comment(item=item, by=item.reporter, body="Theirs")


def item_in_sb(team, obj) -> dict:
    return {"key": team.project.key, "item_key": obj.key}


def item_with_comments(item) -> tuple:
    return _snapshot(item), sorted(item.comments.values_list("body", flat=True))


FOREIGN: dict[str, Foreign] = {
    **app_foreign(),
    "api:member-detail": Foreign(foreign_membership, {"role": "stakeholder", "is_admin": True}),
    "api:invitation-detail": Foreign(foreign_invitation),
    "api:role-detail": Foreign(foreign_role, {"name": "Renamed", "permissions": ["view", "manage_members"]}),
    "api:token-detail": Foreign(foreign_token, kwargs=lambda team, obj: {"pk": obj.pk}),
    # Backlog items are addressed by key: another project's key through SB's URL.
    "api:item-detail": Foreign(foreign_item, {"title": "Hijacked"}, kwargs=item_in_sb),
    "api:item-move": Foreign(foreign_item, {"position": "top"}, kwargs=item_in_sb),
    "api:item-history": Foreign(foreign_item, kwargs=item_in_sb),
    "api:item-comment-list": Foreign(foreign_item, {"body": "Hijacked"}, kwargs=item_in_sb, state=item_with_comments),
    # Another project's comment under SB's own item SB-1.
    "api:item-comment-detail": Foreign(
        foreign_comment, {"body": "Hijacked"}, kwargs=lambda team, obj: {"key": "SB", "item_key": "SB-1", "pk": obj.pk}
    ),
}


def test_every_detail_route_has_a_foreign_object():
    missing = sorted({route.name for route in DETAIL_ROUTES} - set(FOREIGN))
    assert not missing, f"API routes taking an id without a FOREIGN entry: {missing}"
    stale = sorted(set(FOREIGN) - {route.name for route in DETAIL_ROUTES})
    assert not stale, f"FOREIGN entries for routes that no longer exist: {stale}"


def _snapshot(obj) -> dict:
    fresh = type(obj).objects.filter(pk=obj.pk).first()
    assert fresh is not None, f"{obj!r} was deleted"
    return model_to_dict(fresh)


@pytest.mark.parametrize(
    ("route", "method"),
    [
        pytest.param(route, method, id=f"{method} {route.name}")
        for route in DETAIL_ROUTES
        if route.name in FOREIGN
        for method in sorted(route.methods)
    ],
)
def test_foreign_object_through_own_project_is_not_found_and_unchanged(route, method, team, api):
    foreign = FOREIGN[route.name]
    obj = foreign.make(team)
    snapshot = foreign.state or _snapshot
    before = snapshot(obj)
    client = api.as_(team.admin)
    url = reverse(route.name, kwargs=foreign.kwargs(team, obj))
    response = client.get(url) if method == "GET" else getattr(client, method.lower())(url, foreign.body, format="json")
    assert response.status_code == 404
    assert response.json()["type"] == "not_found"
    assert snapshot(obj) == before
