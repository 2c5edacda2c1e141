from django.db import migrations


def fill(apps, schema_editor):
    apps.get_model("crm", "Contact").objects.filter(tier__isnull=True).update(tier="basic")


class Migration(migrations.Migration):
    dependencies = [("crm", "0002_contact_tier")]
    operations = [
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
