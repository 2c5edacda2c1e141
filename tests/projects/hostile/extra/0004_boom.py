# Copied by tests/test_injection.py to pwn/migrations/ for the failing run: see README.md.
from django.db import migrations

# The exception message (several lines, raised by PostgreSQL) and the statement itself
# carry the payloads, and a line that looks like the heading the comment is cut at.
BOOM = """
DO $$
BEGIN
  -- ````
  RAISE EXCEPTION 'boom </details> <img src=x> [Approve](https://x) @org/team ``` ::set-output name=x::y
::add-mask::z
   ````
# Owned
### Pending migrations';
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("pwn", "NAME_OF_0003")]
    operations = [migrations.RunSQL(BOOM, migrations.RunSQL.noop)]
