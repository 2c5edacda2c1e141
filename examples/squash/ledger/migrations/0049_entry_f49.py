from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0048_remove_entry_f44")]
    operations = [
        migrations.AddField(model_name="entry", name="f49", field=models.IntegerField(null=True)),
    ]
