from django.db import migrations, models


def reserve_everything(apps, schema_editor):
    # Every row of stock_item is updated, and stays locked until this migration commits.
    Item = apps.get_model("stock", "Item")
    Item.objects.update(reserved=models.F("qty"))


class Migration(migrations.Migration):
    dependencies = [("stock", "0001_initial")]
    operations = [
        migrations.RunPython(reserve_everything, migrations.RunPython.noop),
        # The rest of the data migration's work, in the same transaction: the rows stay locked meanwhile.
        migrations.RunSQL("SELECT pg_sleep(1.5)", migrations.RunSQL.noop),
    ]
