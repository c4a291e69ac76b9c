"""Delivery through a real Celery worker on a real Redis, with the faults the outbox is for.

Each test starts its own ``redis-server`` (free port, no persistence) and worker processes that
read the test database, so rows must be committed (transactional tests, PostgreSQL). The worker
sends e-mail through ``worker_backends.MailLogBackend``: one line per message in a file, so
"sent exactly once" is counted across processes, kills and restarts.
"""

import datetime
import json
import threading
import time
from collections import Counter

import pytest
import time_machine
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone

from backlog import services as backlog_services
from notifications import reminders, services, tasks
from notifications.models import Channel, Kind, Notification, State
from scrumboard import outbox as publisher
from sprints import services as sprint_services
from tests.notifications.conftest import END, START, local
from tests.notifications.worker_backends import STALL_TO, STARTED
from tests.notifications.worker_support import Worker, mail_sent, reset_publisher, wait_for

# The real-worker fixtures: redis_server, mail_log, start_worker.
pytest_plugins = ["tests.worker"]
pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

# Tuesday 2026-03-03, five minutes before SB's 10:00 daily scrum in Almaty: the "starts in
# 10 minutes" reminder (every member) and the stand-up nudge (members who may comment) are due.
SCRUM_SOON = local("2026-03-03T09:55", "Asia/Almaty")
DELIVERY_TIMEOUT = 30
SENTINEL = "worker-test-sentinel"


@pytest.fixture
def active_sprint(team):
    """SB's sprint of 2026-03-02..13, started on its first morning (the clock frozen only meanwhile)."""
    with time_machine.travel(local("2026-03-02T08:00", "Asia/Almaty"), tick=False):
        sprint = sprint_services.create_sprint(
            project=team.project, by=team.scrum_master, start_date=START, end_date=END
        )
        return sprint_services.start_sprint(sprint=sprint, by=team.scrum_master)


def outbox():
    return Notification.objects.exclude(subject=SENTINEL).select_related("recipient").order_by("pk")


def all_sent(*workers: Worker) -> None:
    rows = outbox()
    if not wait_for(
        lambda: rows.exists() and not rows.exclude(state=State.SENT).exists(),
        timeout=DELIVERY_TIMEOUT,
        workers=workers,
    ):
        pending = list(rows.exclude(state=State.SENT).values("pk", "kind", "channel", "attempts", "last_error"))
        pytest.fail(f"not sent within {DELIVERY_TIMEOUT} s: {pending}\n" + "\n".join(w.log() for w in workers))


def drain(user, *workers: Worker) -> None:
    """Waits until the worker has handled every message queued before now.

    One worker process with one child takes messages in order, so once a row published last is
    sent, any duplicate delivery queued earlier has run (and would have shown in the mail log).
    """
    number = Notification.objects.filter(subject=SENTINEL).count()
    with transaction.atomic():
        (row,) = services.notify(
            recipient=user,
            kind=Kind.MENTION,
            subject=SENTINEL,
            local_date=datetime.date(2026, 3, 3) + datetime.timedelta(days=number),
            title="sentinel",
            channels=[Channel.IN_APP],
        )
    sent = Notification.objects.filter(pk=row.pk, state=State.SENT)
    assert wait_for(sent.exists, timeout=DELIVERY_TIMEOUT, workers=workers), "the worker did not reach the sentinel"


def assert_each_sent_once(mail_log, *workers: Worker) -> None:
    """Every row sent on its first attempt, and the mail log holds each e-mail row exactly once."""
    rows = list(outbox())
    assert rows
    assert [(row.pk, row.state, row.attempts) for row in rows] == [(row.pk, State.SENT, 1) for row in rows]
    expected = Counter((row.recipient.email, row.title) for row in rows if row.channel == Channel.EMAIL)
    assert mail_sent(mail_log) == expected
    for worker in workers:
        assert "raised unexpected" not in worker.log(), worker.log()


def members(team) -> set:
    return {team.admin, team.scrum_master, team.product_owner, team.developer, team.stakeholder}


def waits_for_a_lock(backend_pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [backend_pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


def row_lock_is_free(pk: int) -> bool:
    try:
        with transaction.atomic():
            list(Notification.objects.select_for_update(nowait=True).filter(pk=pk))
    except DatabaseError:
        return False
    return True


def test_a_due_reminder_is_delivered_once_by_the_worker(team, active_sprint, start_worker, mail_log):
    worker = start_worker()

    written = reminders.send_due_reminders(SCRUM_SOON)

    soon = outbox().filter(kind=Kind.DAILY_SCRUM_SOON)
    assert {(row.recipient, row.channel) for row in soon} == {
        (user, channel) for user in members(team) for channel in Channel.values
    }
    assert written == outbox().count()
    all_sent(worker)
    # A later tick in the same window and a sweep find nothing to write or send.
    assert reminders.send_due_reminders(SCRUM_SOON + datetime.timedelta(minutes=3)) == 0
    assert tasks.sweep(grace_seconds=0) == 0
    drain(team.outsider, worker)
    assert_each_sent_once(mail_log, worker)


def test_the_beats_tick_run_by_the_worker_writes_due_reminders_and_the_worker_delivers_them(
    team, start_worker, mail_log
):
    # At the real time: an item of the developer's that was due yesterday, and a daily scrum at
    # midnight, so the day-level rules are open whenever this runs.
    project = team.project
    project.daily_scrum_time = datetime.time(0, 0)
    project.save(update_fields=["daily_scrum_time"])
    yesterday = timezone.localdate(timezone=project.tzinfo) - datetime.timedelta(days=1)
    item = backlog_services.create_item(
        project=project, by=team.product_owner, title="Overdue", assignee=team.developer, due_date=yesterday
    )
    worker = start_worker()

    tasks.tick.delay()

    all_sent(worker)
    assert {(row.recipient, row.kind, row.subject, row.channel) for row in outbox()} == {
        (team.developer, Kind.ITEM_OVERDUE, f"item:{item.pk}", channel) for channel in Channel.values
    }
    tasks.tick.delay()  # the next minute's tick: written already, nothing new
    drain(team.outsider, worker)
    assert outbox().count() == len(Channel.values)
    assert_each_sent_once(mail_log, worker)


def test_sprint_completes_while_redis_is_down_and_the_sweep_delivers_every_row_once(
    team, active_sprint, redis_server, start_worker, mail_log
):
    worker = start_worker()
    worker.wait_ready()
    redis_server.stop()

    started = time.monotonic()
    sprint_services.complete_sprint(sprint=active_sprint, by=team.scrum_master)
    took = time.monotonic() - started

    # One refused publish (no kombu connection retries: the transport's max_retries is 0), then the
    # 30 s pause skips the other rows.
    assert took < 2, f"completing the sprint took {took:.1f} s with the broker down"
    assert publisher.broker_paused()  # the publish was tried, failed, and paused
    due = outbox().filter(kind=Kind.RETROSPECTIVE_DUE, subject=f"sprint:{active_sprint.pk}")
    assert {(row.recipient, row.channel) for row in due} == {
        (user, channel) for user in members(team) for channel in Channel.values
    }
    assert {(row.state, row.attempts) for row in outbox()} == {(State.PENDING, 0)}

    redis_server.start()  # the same port, empty (no persistence)
    publisher.resume()  # as if the 30 s pause were over
    reset_publisher()
    # Two sweeps, as from two beats: the second runs before any delivery, so every row is queued
    # twice and the second delivery must find it sent.
    tasks.sweep.apply_async(kwargs={"grace_seconds": 0})
    tasks.sweep.apply_async(kwargs={"grace_seconds": 0})

    all_sent(worker)
    drain(team.outsider, worker)
    assert_each_sent_once(mail_log, worker)
    assert worker.log().count("Task notifications.tasks.deliver[") >= 2 * 2 * outbox().count()  # received, succeeded
    assert "Connection to broker lost" in worker.log()  # the same worker rode out the outage


def test_a_worker_killed_mid_delivery_leaves_the_row_pending_and_a_new_worker_sends_it_once(
    team, active_sprint, start_worker, mail_log, tmp_path
):
    started = tmp_path / "stalled-message.json"
    first = start_worker(**{STALL_TO: team.developer.email, STARTED: str(started)})

    reminders.send_due_reminders(SCRUM_SOON)

    assert wait_for(started.exists, timeout=DELIVERY_TIMEOUT, workers=(first,)), first.log()
    stalled = json.loads(started.read_text())
    row = outbox().get(recipient=team.developer, channel=Channel.EMAIL, title=stalled["subject"])
    assert not row_lock_is_free(row.pk)  # the worker holds the row while it sends

    first.kill()

    # The worker's transaction died with its connection: the lock is gone, nothing was recorded.
    assert wait_for(lambda: row_lock_is_free(row.pk), timeout=10)
    row.refresh_from_db()
    assert (row.state, row.attempts, row.sent_at) == (State.PENDING, 0, None)
    assert (team.developer.email, row.title) not in mail_sent(mail_log)

    second = start_worker(**{STARTED: str(started)})
    tasks.sweep.apply_async(kwargs={"grace_seconds": 0})

    all_sent(second)
    drain(team.outsider, second)
    assert_each_sent_once(mail_log, first, second)


def test_two_ticks_for_the_same_minute_notify_each_recipient_once_per_kind(team, active_sprint, start_worker, mail_log):
    worker = start_worker()
    assert reminders.send_due_reminders(SCRUM_SOON) > 0
    assert reminders.send_due_reminders(SCRUM_SOON + datetime.timedelta(seconds=30)) == 0

    # Two ticks racing for the next day. The first holds its transaction open after writing, so
    # the second reads "nothing written yet" and its insert waits on the first one's unique key.
    next_day = SCRUM_SOON + datetime.timedelta(days=1)
    first_wrote, release = threading.Event(), threading.Event()
    second_pid: list[int] = []
    counts: dict[str, int] = {}
    errors: list[BaseException] = []

    def first_tick() -> None:
        try:
            with transaction.atomic():
                counts["first"] = reminders.send_due_reminders(next_day)
                first_wrote.set()
                assert release.wait(timeout=20)
        except BaseException as error:
            errors.append(error)
        finally:
            first_wrote.set()
            connections.close_all()

    def second_tick() -> None:
        try:
            connection.ensure_connection()
            second_pid.append(connection.connection.get_backend_pid())
            counts["second"] = reminders.send_due_reminders(next_day)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first_tick), threading.Thread(target=second_tick)]
    threads[0].start()
    assert first_wrote.wait(timeout=20)
    threads[1].start()
    try:
        assert wait_for(lambda: second_pid and waits_for_a_lock(second_pid[0]), timeout=20), errors
    finally:
        release.set()
        for thread in threads:
            thread.join(timeout=30)
    assert errors == []
    day_rows = outbox().filter(local_date=next_day.date())
    assert counts == {"first": day_rows.count(), "second": 0}
    assert day_rows.count() > 0

    per_kind = Counter((row.recipient_id, row.kind, row.local_date) for row in outbox())
    assert set(per_kind.values()) == {len(Channel.values)}
    all_sent(worker)
    drain(team.outsider, worker)
    assert_each_sent_once(mail_log, worker)
