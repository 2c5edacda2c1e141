from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0011_product_name_idx"),
    ]

    operations = [
        # SKUs are compared case-insensitively by the warehouse; store them upper-case.
        migrations.RunSQL("UPDATE catalog_product SET sku = upper(sku) WHERE sku <> upper(sku);"),
    ]
