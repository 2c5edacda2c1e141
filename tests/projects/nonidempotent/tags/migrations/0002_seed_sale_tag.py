from django.db import migrations


def add_sale_tag(apps, schema_editor):
    # Not idempotent: a second run inserts the same unique name again.
    apps.get_model("tags", "Tag").objects.create(name="sale")


class Migration(migrations.Migration):
    dependencies = [("tags", "0001_initial")]
    operations = [migrations.RunPython(add_sale_tag, migrations.RunPython.noop)]
