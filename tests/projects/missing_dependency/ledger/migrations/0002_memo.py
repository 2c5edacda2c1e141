# Depends on a migration that does not exist (a squash that was deleted, say).
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial"), ("ledger", "0001_squashed_gone")]
    operations = [migrations.AddField("entry", "memo", models.CharField(max_length=200, default=""))]
