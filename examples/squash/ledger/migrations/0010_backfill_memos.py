from django.db import migrations, models
import django.db.models.deletion


def blank_memos(apps, schema_editor):
    apps.get_model("ledger", "Entry").objects.filter(memo__isnull=True).update(memo="")


class Migration(migrations.Migration):
    dependencies = [("ledger", "0009_alter_entry_memo")]
    operations = [
        migrations.RunPython(blank_memos, migrations.RunPython.noop, elidable=True),
    ]
