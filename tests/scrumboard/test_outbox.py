"""The one publish path (scrumboard.outbox): one pause after a refusal, for every outbox, as there is one broker."""

import datetime
from unittest import mock

import pytest
from kombu.exceptions import OperationalError

from integrations import tasks as webhook_tasks
from integrations import webhooks
from notifications import services as notification_services
from notifications import tasks as notification_tasks
from scrumboard import outbox

NOW = datetime.datetime(2026, 3, 3, 4, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _broker_up(time_machine):
    time_machine.move_to(NOW, tick=False)
    outbox.resume()
    yield
    outbox.resume()


def test_a_refusal_for_notifications_pauses_webhook_publishing_too_until_the_pause_is_over(time_machine):
    refused = OperationalError("[Errno 111] Connection refused")
    with (
        mock.patch.object(notification_tasks.deliver, "apply_async", side_effect=refused) as notifications,
        mock.patch.object(webhook_tasks.deliver_webhook, "apply_async") as deliveries,
    ):
        assert notification_services.publish_many([1, 2]) == 0  # the first refused, the second not tried
        assert webhooks.publish_many([10]) == 0
        time_machine.move_to(NOW + outbox.BROKER_PAUSE - datetime.timedelta(seconds=1), tick=False)
        assert webhooks.publish_many([10]) == 0
    assert notifications.call_count == 1
    deliveries.assert_not_called()
    assert outbox.broker_paused()

    time_machine.move_to(NOW + outbox.BROKER_PAUSE, tick=False)
    with mock.patch.object(webhook_tasks.deliver_webhook, "apply_async") as deliveries:
        assert webhooks.publish_many([10, 11]) == 2
    assert [call.args for call in deliveries.call_args_list] == [((10,),), ((11,),)]
    assert all(call.kwargs == {"retry": False} for call in deliveries.call_args_list)
    assert not outbox.broker_paused()


def test_publish_many_stops_at_the_first_refusal_and_says_how_many_went():
    refused = OperationalError("[Errno 111] Connection refused")
    with mock.patch.object(webhook_tasks.deliver_webhook, "apply_async", side_effect=[None, refused]) as deliveries:
        assert outbox.publish_many(webhook_tasks.deliver_webhook, [1, 2, 3]) == 1
    assert deliveries.call_count == 2
