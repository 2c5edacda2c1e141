from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("a", "0001_initial")]
    operations = [
        migrations.AddField(model_name="a", name="x", field=models.IntegerField(null=True)),
    ]
