from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0049_entry_f49")]
    operations = [
        migrations.AddIndex(model_name="entry", index=models.Index(fields=["f49"], name="entry_f49_idx")),
    ]
