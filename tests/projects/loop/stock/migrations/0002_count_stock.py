from django.db import migrations


def count_one_by_one(apps, schema_editor):
    """The loop a data migration should not have: a SELECT and an UPDATE per row."""
    Item = apps.get_model("stock", "Item")
    for pk in Item.objects.order_by("pk").values_list("pk", flat=True):
        item = Item.objects.get(pk=pk)
        item.quantity = pk % 7
        item.save(update_fields=["quantity"])


def restock_with_values_inlined(apps, schema_editor):
    """The same loop written as SQL text: every UPDATE has other literal values in it."""
    for pk in range(1, 601):
        schema_editor.execute(f"UPDATE stock_item SET quantity = quantity + {pk % 5}, sku = 'R-{pk}' WHERE id = {pk}")


def many_distinct_queries(apps, schema_editor):
    """More distinct statements than the report lists: 550 different column names."""
    for number in range(550):
        schema_editor.execute(f"SELECT count(*) AS total_{number} FROM stock_item")


class Migration(migrations.Migration):
    dependencies = [("stock", "0001_initial")]
    operations = [
        migrations.RunPython(count_one_by_one, migrations.RunPython.noop),
        migrations.RunPython(restock_with_values_inlined, migrations.RunPython.noop),
        migrations.RunPython(many_distinct_queries, migrations.RunPython.noop),
    ]
