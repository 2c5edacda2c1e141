from django.db import migrations


def check_balances(apps, schema_editor):
    raise ValueError("ledger does not balance")


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(check_balances, migrations.RunPython.noop)]
