from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    initial = True
    dependencies = [("ledger", "0020_alter_entry_memo")]
    operations = [
        migrations.CreateModel(name="Invoice", fields=[("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")), ("total", models.DecimalField(decimal_places=2, max_digits=12)), ("account", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, to="ledger.account"))]),
    ]
