import os

from django.db import migrations

# Long enough to kill Preflight in the middle of it (tests/test_sigkill.py); a later run
# sets SLOW_MIGRATION_SECONDS=0 to get through it.
SECONDS = float(os.environ.get("SLOW_MIGRATION_SECONDS", "60"))


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunSQL(f"SELECT pg_sleep({SECONDS})", migrations.RunSQL.noop)]
