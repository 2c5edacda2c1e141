from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_entry_f2")]
    operations = [
        migrations.AddIndex(model_name="entry", index=models.Index(fields=["f2"], name="entry_f2_idx")),
    ]
