from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0022_remove_entry_f18")]
    operations = [
        migrations.AddField(model_name="entry", name="f23", field=models.IntegerField(null=True)),
    ]
