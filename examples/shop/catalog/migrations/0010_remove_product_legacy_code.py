from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0009_product_weight_grams"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="product",
            name="legacy_code",
        ),
    ]
