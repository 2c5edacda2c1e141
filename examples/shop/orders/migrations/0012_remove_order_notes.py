from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0011_orderline_product_order_idx"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="order",
            name="notes",
        ),
    ]
