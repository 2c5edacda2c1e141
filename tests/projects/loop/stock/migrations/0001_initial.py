from django.db import migrations, models


def seed(apps, schema_editor):
    Item = apps.get_model("stock", "Item")
    Item.objects.bulk_create([Item(sku=f"SKU-{number}") for number in range(1, 601)])


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Item",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("sku", models.CharField(max_length=20)),
                ("quantity", models.IntegerField(default=0)),
            ],
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
