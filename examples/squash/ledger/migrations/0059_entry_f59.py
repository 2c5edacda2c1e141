from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0058_remove_entry_f54")]
    operations = [
        migrations.AddField(model_name="entry", name="f59", field=models.IntegerField(null=True)),
    ]
