from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [
        migrations.AddField(model_name="entry", name="f2", field=models.IntegerField(null=True)),
    ]
