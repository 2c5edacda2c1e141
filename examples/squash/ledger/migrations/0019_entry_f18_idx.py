from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0018_entry_f18")]
    operations = [
        migrations.AddIndex(model_name="entry", index=models.Index(fields=["f18"], name="entry_f18_idx")),
    ]
