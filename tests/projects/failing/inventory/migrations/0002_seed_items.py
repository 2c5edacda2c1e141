from django.db import migrations


def seed(apps, schema_editor):
    Item = apps.get_model("inventory", "Item")
    Item.objects.bulk_create([Item(sku="A-%d" % (n % 3)) for n in range(9)])


class Migration(migrations.Migration):
    dependencies = [("inventory", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
