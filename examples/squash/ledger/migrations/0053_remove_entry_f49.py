from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0052_remove_entry_f49_idx")]
    operations = [
        migrations.RemoveField(model_name="entry", name="f49"),
    ]
