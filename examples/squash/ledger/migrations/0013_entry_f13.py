from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0012_remove_entry_f7")]
    operations = [
        migrations.AddField(model_name="entry", name="f13", field=models.IntegerField(null=True)),
    ]
