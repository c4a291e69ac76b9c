"""Beat runs the tick and the sweep every minute; tasks are registered under their module names."""

import copy
import datetime

from celery.schedules import crontab
from django.conf import settings

from scrumboard.celery import app


def test_beat_runs_tick_and_sweep_every_minute():
    schedule = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    tick = schedule["notifications.tasks.tick"]
    # The tick runs at the start of every minute of every hour and day (crontab()).
    assert isinstance(tick, crontab)
    assert tick.minute == set(range(60))
    assert tick.hour == set(range(24))
    assert tick.day_of_week == set(range(7))
    assert tick.day_of_month == set(range(1, 32))
    assert tick.month_of_year == set(range(1, 13))
    # 20 s after a run the next one is due in 40 s; a minute after it, due now.
    last_run = datetime.datetime(2026, 3, 2, 9, 50, 0, tzinfo=datetime.UTC)
    pinned = copy.copy(tick)
    pinned.nowfun = lambda: last_run + datetime.timedelta(seconds=20)
    assert tuple(pinned.is_due(last_run)) == (False, 40.0)
    pinned.nowfun = lambda: last_run + datetime.timedelta(minutes=1)
    assert pinned.is_due(last_run)[0] is True
    assert schedule["notifications.tasks.sweep"] == 60.0


def test_tasks_are_registered_and_deliver_acks_late():
    app.loader.import_default_modules()
    assert {"notifications.tasks.tick", "notifications.tasks.sweep", "notifications.tasks.deliver"} <= set(app.tasks)
    assert app.tasks["notifications.tasks.deliver"].acks_late is True


def test_reminder_lead_defaults_to_ten_minutes():
    assert settings.DAILY_SCRUM_REMINDER_MINUTES == 10
