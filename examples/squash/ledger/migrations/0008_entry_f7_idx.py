from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0007_entry_f7")]
    operations = [
        migrations.AddIndex(model_name="entry", index=models.Index(fields=["f7"], name="entry_f7_idx")),
    ]
