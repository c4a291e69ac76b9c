"""Holding the outbox: nothing is published meanwhile, not even tried (loading the demo). Apart from
test_outbox.py, whose frozen clock would stall a real connection attempt's timeout."""

import pytest

from notifications import tasks as notification_tasks
from scrumboard import outbox
from tests.notifications.worker_support import publishing_to


@pytest.fixture(autouse=True)
def _broker_up():
    outbox.resume()
    yield
    outbox.resume()


def closed_broker_url() -> str:
    """A Redis URL on a local port nothing listens on: a publish there is refused for real."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"redis://127.0.0.1:{probe.getsockname()[1]}/0"


def test_while_held_nothing_is_published_and_the_broker_is_not_even_tried():
    with publishing_to(closed_broker_url()):
        with outbox.held():
            assert outbox.publish(notification_tasks.deliver, 1) is False
        assert not outbox.broker_paused()  # never tried: no refusal to pause for
        assert outbox.publish(notification_tasks.deliver, 1) is False  # tried, refused
        assert outbox.broker_paused()


@pytest.mark.django_db(transaction=True)
def test_loading_the_demo_queues_no_messages_for_the_history_it_settles():
    """Hundreds of deliveries for rows already marked sent would sit in front of real work (an import)."""
    from notifications.models import Notification
    from scrumboard.demo import load_demo

    with publishing_to(closed_broker_url()):
        load_demo()
        assert not outbox.broker_paused()  # no publish was attempted
    assert Notification.objects.exists()
    assert not Notification.objects.filter(state="pending").exists()
