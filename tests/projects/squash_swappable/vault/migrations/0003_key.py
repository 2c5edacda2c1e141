from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("vault", "0002_owner_name")]
    operations = [
        migrations.CreateModel(name="Key", fields=[("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")), ("owner", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="vault.owner"))], options={"swappable": "VAULT_KEY_MODEL"}),
    ]
