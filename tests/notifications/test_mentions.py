"""A mention in a comment reaches the outbox through a signal: backlog never imports notifications."""

import pytest

from backlog import services as backlog_services
from notifications.models import Channel, Kind, Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(project, scrum_master):
    return backlog_services.create_item(project=project, by=scrum_master, title="Login form")


def test_a_mentioned_member_gets_a_mention_notification(item, scrum_master, developer, product_owner):
    comment = backlog_services.add_comment(item=item, by=scrum_master, body="@dev please look, @po too")
    rows = Notification.objects.filter(kind=Kind.MENTION, channel=Channel.IN_APP)
    assert {row.recipient.username for row in rows} == {"dev", "po"}
    row = rows.get(recipient=developer)
    assert row.subject == f"comment:{comment.pk}"
    assert row.url == f"/projects/SB/items/{item.key}/"
    assert item.key in row.title
    assert row.project == item.project


def test_editing_a_comment_notifies_only_newly_mentioned_members(item, scrum_master, developer):
    comment = backlog_services.add_comment(item=item, by=scrum_master, body="@dev look")
    backlog_services.edit_comment(comment=comment, by=scrum_master, body="@dev look, @stake too")
    rows = Notification.objects.filter(kind=Kind.MENTION, channel=Channel.IN_APP)
    assert sorted(row.recipient.username for row in rows) == ["dev", "stake"]


def test_mentioning_yourself_notifies_nobody(item, developer):
    backlog_services.add_comment(item=item, by=developer, body="note to @dev")
    assert not Notification.objects.exists()


def test_backlog_does_not_import_notifications():
    from pathlib import Path

    import backlog

    for path in Path(backlog.__file__).parent.rglob("*.py"):
        assert "notifications" not in path.read_text(), path
