import os

from celery import Celery

from scrumboard import task_metrics

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scrumboard.settings")

app = Celery("scrumboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Task outcomes and durations for /metrics.
task_metrics.connect()
