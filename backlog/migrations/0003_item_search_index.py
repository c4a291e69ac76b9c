from django.db import migrations

# The same expression backlog.selectors.search builds, so PostgreSQL can use the index.
# "simple" configuration: no stemming, which suits a backlog in English, Russian and Kazakh.
# fastupdate off: a pending list left by a large import would hide the index from the
# planner until the next VACUUM; writes to one item at a time do not need the batching.
CREATE = """
CREATE INDEX IF NOT EXISTS item_search ON backlog_backlogitem USING gin (
    to_tsvector('simple'::regconfig, COALESCE(title, '') || ' ' || COALESCE(description, ''))
) WITH (fastupdate = off)
"""
DROP = "DROP INDEX IF EXISTS item_search"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("backlog", "0002_seed_default_workflow")]

    operations = [migrations.RunPython(create, drop)]
