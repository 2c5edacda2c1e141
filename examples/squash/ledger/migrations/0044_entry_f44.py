from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0043_remove_entry_f38")]
    operations = [
        migrations.AddField(model_name="entry", name="f44", field=models.IntegerField(null=True)),
    ]
