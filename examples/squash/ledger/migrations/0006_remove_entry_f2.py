from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0005_remove_entry_f2_idx")]
    operations = [
        migrations.RemoveField(model_name="entry", name="f2"),
    ]
