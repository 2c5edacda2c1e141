from django.db import migrations

# Holds ACCESS EXCLUSIVE on an existing table for a known time, in one atomic migration
# (like a DROP INDEX then CREATE INDEX on a large table): every read and write waits 1 s.
HOLD_S = 1.0


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [
        migrations.RunSQL(
            ["LOCK TABLE ledger_entry IN ACCESS EXCLUSIVE MODE", f"SELECT pg_sleep({HOLD_S})"],
            migrations.RunSQL.noop,
        ),
    ]
