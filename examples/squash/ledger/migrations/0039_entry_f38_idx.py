from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0038_entry_f38")]
    operations = [
        migrations.AddIndex(model_name="entry", index=models.Index(fields=["f38"], name="entry_f38_idx")),
    ]
