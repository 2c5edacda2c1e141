# Imports a module the app does not have: the file does not import (ModuleNotFoundError).
from django.db import migrations, models

from ledger.fields import MoneyField


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.AddField("entry", "memo", MoneyField())]
