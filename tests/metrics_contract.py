"""The metric families the app exports (README, Metrics): Grafana panels and alert rules may use only these."""

CONTRACT = {
    "scrumboard_http_requests_total",
    "scrumboard_http_request_duration_seconds",
    "scrumboard_db_queries_per_request",
    "scrumboard_celery_tasks_total",
    "scrumboard_celery_task_duration_seconds",
    "scrumboard_celery_queue_length",
    "scrumboard_ready",
    "scrumboard_notifications_sent_total",
    "scrumboard_notifications_failed_total",
    "scrumboard_notification_retries_total",
    "scrumboard_notifications_written_total",
    "scrumboard_reminder_tick_seconds",
    "scrumboard_outbox_pending",
    "scrumboard_active_sprints",
    "scrumboard_open_impediments",
    "scrumboard_team_commitment_accuracy_ratio",
    "scrumboard_team_carry_over_ratio",
    "scrumboard_team_scope_change_ratio",
    "scrumboard_retrospective_action_completion_ratio",
}
