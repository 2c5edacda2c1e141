from django.db import migrations


def one_primary(apps, schema_editor):
    """Keep one primary address per user (allauth fixes them before adding unique_primary_email)."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            'UPDATE accounts_emailaddress SET "primary" = false WHERE "primary" AND id NOT IN '
            '(SELECT min(id) FROM accounts_emailaddress WHERE "primary" GROUP BY user_id)'
        )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_remove_duplicate_indices")]
    operations = [migrations.RunPython(one_primary, migrations.RunPython.noop)]
