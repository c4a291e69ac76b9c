"""Beat runs the tick and the sweep every minute; tasks are registered under their module names."""

from django.conf import settings

from scrumboard.celery import app


def test_beat_runs_tick_and_sweep_every_minute():
    schedule = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert schedule["notifications.tasks.tick"] == 60.0
    assert schedule["notifications.tasks.sweep"] == 60.0


def test_tasks_are_registered_and_deliver_acks_late():
    app.loader.import_default_modules()
    assert {"notifications.tasks.tick", "notifications.tasks.sweep", "notifications.tasks.deliver"} <= set(app.tasks)
    assert app.tasks["notifications.tasks.deliver"].acks_late is True


def test_reminder_lead_defaults_to_ten_minutes():
    assert settings.DAILY_SCRUM_REMINDER_MINUTES == 10
