# SystemSetting now belongs to the etlsite app (its table keeps its name). The
# content type is relabelled, so permissions and the groups holding them stay.

from django.db import migrations


def relabel_content_type(apps, schema_editor):
    content_types = apps.get_model("contenttypes", "ContentType")
    content_types.objects.filter(app_label="monitoring", model="systemsetting").update(app_label="etlsite")


def relabel_back(apps, schema_editor):
    content_types = apps.get_model("contenttypes", "ContentType")
    content_types.objects.filter(app_label="etlsite", model="systemsetting").update(app_label="monitoring")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("etlsite", "0001_systemsetting"),
        ("monitoring", "0002_custommetric_execution"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="SystemSetting")], database_operations=[]
        ),
        migrations.RunPython(relabel_content_type, relabel_back),
    ]
