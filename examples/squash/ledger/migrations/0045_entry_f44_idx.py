from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0044_entry_f44")]
    operations = [
        migrations.AddIndex(model_name="entry", index=models.Index(fields=["f44"], name="entry_f44_idx")),
    ]
