from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0011_remove_entry_f7_idx")]
    operations = [
        migrations.RemoveField(model_name="entry", name="f7"),
    ]
