from django.db import migrations

# Marked elidable by mistake: these change the schema, so a squash that drops them
# builds a different database than the history does.


class Migration(migrations.Migration):
    dependencies = [("shelf", "0001_initial")]
    operations = [
        migrations.RunSQL(
            "CREATE INDEX shelf_item_name_upper ON shelf_item (upper(name))",
            "DROP INDEX shelf_item_name_upper",
            elidable=True,
        ),
        migrations.RunSQL(
            "ALTER TABLE shelf_item ALTER COLUMN name SET DEFAULT 'unnamed'",
            "ALTER TABLE shelf_item ALTER COLUMN name DROP DEFAULT",
            elidable=True,
        ),
    ]
