from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0006_remove_entry_f2")]
    operations = [
        migrations.AddField(model_name="entry", name="f7", field=models.IntegerField(null=True)),
    ]
