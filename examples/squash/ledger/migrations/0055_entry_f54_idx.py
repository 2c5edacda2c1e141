from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0054_entry_f54")]
    operations = [
        migrations.AddIndex(model_name="entry", index=models.Index(fields=["f54"], name="entry_f54_idx")),
    ]
