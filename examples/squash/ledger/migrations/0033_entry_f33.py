from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0032_remove_entry_f28")]
    operations = [
        migrations.AddField(model_name="entry", name="f33", field=models.IntegerField(null=True)),
    ]
