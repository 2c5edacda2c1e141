from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0059_entry_f59")]
    operations = [
        migrations.AddIndex(model_name="entry", index=models.Index(fields=["f59"], name="entry_f59_idx")),
    ]
