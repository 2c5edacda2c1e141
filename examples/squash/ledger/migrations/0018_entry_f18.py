from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0017_remove_entry_f13")]
    operations = [
        migrations.AddField(model_name="entry", name="f18", field=models.IntegerField(null=True)),
    ]
