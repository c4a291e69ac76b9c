"""Permission-matrix rows for the backlog's API routes (see tests/matrix.py)."""

from backlog import services
from backlog.models import BacklogItem, Comment, ItemLink
from tests.factories import make_project
from tests.matrix import Ctx, Foreign, Row, editors, manage, members


def _item(ctx: Ctx, number: int = 1) -> BacklogItem:
    """SB-1 and SB-2, made by the product owner, once per test."""
    while BacklogItem.objects.filter(project=ctx.project).count() < number:
        services.create_item(project=ctx.project, by=ctx.product_owner, title="Matrix item")
    return BacklogItem.objects.select_related("project").get(project=ctx.project, number=number)


def item(ctx: Ctx) -> dict:
    return {"key": ctx.project.key, "item_key": _item(ctx).key}


def admins_comment(ctx: Ctx) -> dict:
    target = _item(ctx)
    comment = Comment.objects.filter(item=target).first() or services.add_comment(item=target, by=ctx.admin, body="Hi")
    return {"key": ctx.project.key, "item_key": target.key, "pk": comment.pk}


def status_kwargs(ctx: Ctx) -> dict:
    return {"key": ctx.project.key, "pk": ctx.project.statuses.get(name="In Progress").pk}


def project_key(ctx: Ctx) -> dict:
    return {"key": ctx.project.key}


def project_with_items(ctx: Ctx) -> dict:
    _item(ctx, 2)
    return project_key(ctx)


def second_item(ctx: Ctx) -> dict:
    return {"key": ctx.project.key, "item_key": _item(ctx, 2).key}


BACKLOG_ROWS: list[Row] = [
    Row("api:item-list", "GET", project_with_items, members(200)),
    Row("api:item-list", "POST", project_key, editors(201), data=lambda ctx: {"title": "New story"}),
    Row(
        "api:item-bulk",
        "POST",
        project_with_items,
        editors(200),
        data=lambda ctx: {"items": ["SB-1", "SB-2"], "status": "In Progress"},
    ),
    Row("api:item-export", "GET", project_with_items, members(200)),
    Row("api:item-detail", "GET", item, members(200)),
    Row("api:item-detail", "PATCH", item, editors(200), data=lambda ctx: {"title": "Renamed"}),
    Row("api:item-detail", "DELETE", item, editors(204)),
    Row("api:item-move", "POST", second_item, editors(200), data=lambda ctx: {"position": "top"}),
    Row("api:item-history", "GET", item, members(200)),
    Row("api:item-comment-list", "GET", item, members(200)),
    Row("api:item-comment-list", "POST", item, editors(201), data=lambda ctx: {"body": "Looks good"}),
    # Only the author edits a comment; the author or an administrator deletes it.
    Row(
        "api:item-comment-detail",
        "PATCH",
        admins_comment,
        manage(200, scrum_master=False),
        data=lambda ctx: {"body": "Edited"},
    ),
    Row("api:item-comment-detail", "DELETE", admins_comment, manage(204, scrum_master=False)),
]


def link(ctx: Ctx) -> dict:
    source, target = _item(ctx, 1), _item(ctx, 2)
    existing = ItemLink.objects.filter(source=source).first()
    found = existing or services.link_items(source=source, target=target, kind="blocks", by=ctx.product_owner)
    return {"key": ctx.project.key, "item_key": source.key, "pk": found.pk}


def item_with_target(ctx: Ctx) -> dict:
    _item(ctx, 2)
    return item(ctx)


BACKLOG_ROWS += [
    Row("api:item-link-list", "GET", item, members(200)),
    Row(
        "api:item-link-list",
        "POST",
        item_with_target,
        editors(201),
        data=lambda ctx: {"kind": "relates", "target": "SB-2"},
    ),
    Row("api:item-link-detail", "DELETE", link, editors(204)),
    # Watching is open to every member, stakeholders included: it only changes what they hear about.
    Row("api:item-watch", "POST", item, members(200)),
    Row("api:item-watch", "DELETE", item, members(200)),
    Row("api:status-list", "GET", project_key, members(200)),
    # WIP limits shape the sprint board: sprint managers set them.
    Row("api:status-detail", "PATCH", status_kwargs, manage(200), data=lambda ctx: {"wip_limit": 3}),
    Row("api:epic-list", "GET", project_with_items, members(200)),
]


def _foreign_item(team):
    """XX-1, while SB has an SB-1 too: a lookup by number alone would find the wrong one."""
    services.create_item(project=team.project, by=team.admin, title="Ours")
    other = make_project(key="XX")
    owner = other.memberships.get().user
    first = services.create_item(project=other, by=owner, title="Theirs")
    services.create_item(project=other, by=owner, title="Theirs too")
    return first


def _foreign_link(team):
    first = _foreign_item(team)
    second = BacklogItem.objects.get(project=first.project, number=2)
    return services.link_items(source=first, target=second, kind="blocks", by=first.reporter)


def _links_of(obj) -> tuple:
    return tuple(ItemLink.objects.filter(source=obj).values_list("kind", "target_id"))


def _watchers_of(obj) -> tuple:
    return tuple(obj.watchers.values_list("pk", flat=True))


def _foreign_status(team):
    return make_project(key="XX").statuses.get(name="In Progress")


FOREIGN = {
    "api:status-detail": Foreign(_foreign_status, {"wip_limit": 2}),
    "api:item-link-list": Foreign(
        _foreign_item,
        {"kind": "relates", "target": "SB-1"},
        kwargs=lambda team, obj: {"key": "SB", "item_key": obj.key},
        state=_links_of,
    ),
    # Another project's link under SB's own item SB-1.
    "api:item-link-detail": Foreign(
        _foreign_link, kwargs=lambda team, obj: {"key": "SB", "item_key": "SB-1", "pk": obj.pk}
    ),
    "api:item-watch": Foreign(
        _foreign_item, kwargs=lambda team, obj: {"key": "SB", "item_key": obj.key}, state=_watchers_of
    ),
}
