from django.db import migrations


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("archive", "0001_initial")]
    operations = [
        migrations.RunSQL("CREATE TABLE archive_shelf (id integer PRIMARY KEY)", migrations.RunSQL.noop),
        migrations.RunSQL("ALTER TABLE archive_box ADD COLUMN weight integer", migrations.RunSQL.noop),
        migrations.RunSQL("SELECT 1 / 0", migrations.RunSQL.noop),
        migrations.RunSQL("CREATE TABLE archive_never (id integer)", migrations.RunSQL.noop),
    ]
