from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0057_remove_entry_f54_idx")]
    operations = [
        migrations.RemoveField(model_name="entry", name="f54"),
    ]
