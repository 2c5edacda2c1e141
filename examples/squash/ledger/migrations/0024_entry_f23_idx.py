from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0023_entry_f23")]
    operations = [
        migrations.AddIndex(model_name="entry", index=models.Index(fields=["f23"], name="entry_f23_idx")),
    ]
