from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0010_backfill_memos")]
    operations = [
        migrations.RemoveIndex(model_name="entry", name="entry_f7_idx"),
    ]
