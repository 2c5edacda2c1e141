"""Create a table, then fail with the database password in the message (installed by route_cases.py only)."""

from django.conf import settings
from django.db import migrations, models


def fail(apps, schema_editor):
    database = settings.DATABASES["default"]
    raise RuntimeError(
        f"password {database['PASSWORD']} refused for postgresql://{database['USER']}:{database['PASSWORD']}@"
        f"{database['HOST']}/{database['NAME']}\nsecond line"
    )


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(name="Thing", fields=[("id", models.BigAutoField(primary_key=True, serialize=False))]),
        migrations.RunPython(fail, migrations.RunPython.noop),  # reversible: the gate lets it through
    ]
