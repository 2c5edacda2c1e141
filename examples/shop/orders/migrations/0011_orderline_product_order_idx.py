from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0009_product_weight_grams"),
        ("orders", "0010_backfill_line_totals"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="orderline",
            index=models.Index(fields=["product", "order"], name="orders_line_product_order_idx"),
        ),
    ]
