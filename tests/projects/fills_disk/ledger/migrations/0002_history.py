from django.db import migrations

# About 120 MB of rows: more than the small disk the full-disk test gives the copy.
FILL = "CREATE TABLE ledger_history AS SELECT g AS id, repeat(md5(g::text), 8) AS memo FROM generate_series(1, 400000) g"


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunSQL(FILL, "DROP TABLE ledger_history")]
