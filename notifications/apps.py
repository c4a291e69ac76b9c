from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed

        from backlog.models import Comment
        from notifications import receivers
        from sprints.signals import sprint_completed
        from standups.signals import daily_scrum_ended

        # Backlog sends no signal of its own for comments, and post_save on Comment fires
        # before add_comment sets the mentions; m2m_changed on the mentions table fires
        # exactly when mentions are written (on create and on edit), with the user ids.
        m2m_changed.connect(
            receivers.comment_mentions_changed,
            sender=Comment.mentions.through,
            dispatch_uid="notifications.comment_mentions",
        )
        sprint_completed.connect(receivers.sprint_completed, dispatch_uid="notifications.sprint_completed")
        daily_scrum_ended.connect(receivers.daily_scrum_ended, dispatch_uid="notifications.daily_scrum_ended")
