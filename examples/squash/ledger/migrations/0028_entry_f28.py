from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0027_remove_entry_f23")]
    operations = [
        migrations.AddField(model_name="entry", name="f28", field=models.IntegerField(null=True)),
    ]
