from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0046_alter_entry_memo")]
    operations = [
        migrations.RemoveIndex(model_name="entry", name="entry_f44_idx"),
    ]
