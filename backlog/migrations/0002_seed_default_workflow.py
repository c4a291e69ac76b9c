from django.db import migrations

# A copy of backlog.services.DEFAULT_WORKFLOW as it was when this migration was written.
WORKFLOW = [("To Do", "todo"), ("In Progress", "in_progress"), ("In Review", "in_progress"), ("Done", "done")]


def seed(apps, schema_editor):
    Project = apps.get_model("projects", "Project")
    Status = apps.get_model("backlog", "Status")
    for project in Project.objects.filter(statuses__isnull=True):
        Status.objects.bulk_create(
            Status(project=project, name=name, category=category, order=i) for i, (name, category) in enumerate(WORKFLOW)
        )


def unseed(apps, schema_editor):
    Status = apps.get_model("backlog", "Status")
    Status.objects.filter(items__isnull=True, name__in=[name for name, _ in WORKFLOW]).delete()


class Migration(migrations.Migration):
    dependencies = [("backlog", "0001_initial"), ("projects", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
