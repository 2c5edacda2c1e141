from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0013_entry_f13")]
    operations = [
        migrations.AddIndex(model_name="entry", index=models.Index(fields=["f13"], name="entry_f13_idx")),
    ]
