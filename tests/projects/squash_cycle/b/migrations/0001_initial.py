from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("a", "0001_initial")]
    operations = [
        migrations.CreateModel(name="B", fields=[("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")), ("owner", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="a.a"))]),
    ]
