from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("a", "0003_a_b")]
    operations = [
        migrations.AddField(model_name="a", name="y", field=models.IntegerField(null=True)),
    ]
