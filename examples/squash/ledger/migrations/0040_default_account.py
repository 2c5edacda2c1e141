from django.db import migrations, models
import django.db.models.deletion


def create_cash(apps, schema_editor):
    apps.get_model("ledger", "Account").objects.get_or_create(name="cash")


class Migration(migrations.Migration):
    dependencies = [("ledger", "0039_entry_f38_idx")]
    operations = [
        migrations.RunPython(create_cash, migrations.RunPython.noop),
    ]
