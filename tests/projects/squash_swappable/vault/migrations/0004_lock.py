from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("vault", "0003_key")]
    operations = [
        migrations.CreateModel(name="Lock", fields=[("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")), ("key", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="vault.key"))]),
    ]
