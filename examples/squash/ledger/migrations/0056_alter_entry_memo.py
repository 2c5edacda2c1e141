from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0055_entry_f54_idx")]
    operations = [
        migrations.AlterField(model_name="entry", name="memo", field=models.CharField(default="", max_length=210)),
    ]
