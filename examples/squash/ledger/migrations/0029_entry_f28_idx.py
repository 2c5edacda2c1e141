from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0028_entry_f28")]
    operations = [
        migrations.AddIndex(model_name="entry", index=models.Index(fields=["f28"], name="entry_f28_idx")),
    ]
