from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(name="Account", fields=[("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")), ("name", models.CharField(max_length=100, unique=True))]),
        migrations.CreateModel(name="Entry", fields=[("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")), ("amount", models.DecimalField(decimal_places=2, max_digits=12)), ("memo", models.CharField(default="", max_length=100)), ("account", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, to="ledger.account"))]),
    ]
