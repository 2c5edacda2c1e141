from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0053_remove_entry_f49")]
    operations = [
        migrations.AddField(model_name="entry", name="f54", field=models.IntegerField(null=True)),
    ]
