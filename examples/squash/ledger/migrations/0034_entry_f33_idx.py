from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0033_entry_f33")]
    operations = [
        migrations.AddIndex(model_name="entry", index=models.Index(fields=["f33"], name="entry_f33_idx")),
    ]
