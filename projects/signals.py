from django.dispatch import Signal

# Sent by projects.services.create_project inside its transaction, with ``project``.
# Apps above projects (backlog's workflow, later the roadmap template) seed their data here.
project_created = Signal()
