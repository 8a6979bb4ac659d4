"""Drop what the removed per-process read cache (etlsite/read_cache.py) left in
deployed databases: its triggers and version tables, which `migrate` created
after every run (so no earlier migration undoes them), and on PostgreSQL the
minutely django-q2 schedule that folded its change log."""

from django.db import migrations

TRIGGER_PREFIX = "etl_read_version_"
COMPACTION_SCHEDULE = "api: fold the read cache's change log"


def drop_read_cache(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
                [TRIGGER_PREFIX + "%"],
            )
            for (name,) in cursor.fetchall():
                cursor.execute(f'DROP TRIGGER IF EXISTS "{name}"')
            cursor.execute("DROP TABLE IF EXISTS etl_read_tokens")
        elif connection.vendor == "postgresql":
            # CASCADE takes the statement triggers that call the function with it.
            cursor.execute("DROP FUNCTION IF EXISTS etl_read_version_log() CASCADE")
            cursor.execute("DROP TABLE IF EXISTS etl_read_change_log")
    apps.get_model("django_q", "Schedule").objects.filter(name=COMPACTION_SCHEDULE).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0002_job_allowed_groups"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(drop_read_cache, migrations.RunPython.noop)]
