from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("vault", "0001_initial")]
    operations = [
        migrations.AddField(model_name="owner", name="name", field=models.CharField(default="", max_length=50)),
    ]
