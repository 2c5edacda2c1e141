from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = []
    operations = [
        migrations.CreateModel(name="Owner", fields=[("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"))]),
    ]
