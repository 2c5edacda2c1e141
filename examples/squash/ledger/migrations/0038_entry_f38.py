from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0037_remove_entry_f33")]
    operations = [
        migrations.AddField(model_name="entry", name="f38", field=models.IntegerField(null=True)),
    ]
