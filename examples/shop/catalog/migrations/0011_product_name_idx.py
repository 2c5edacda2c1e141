from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("catalog", "0010_remove_product_legacy_code"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="product",
            index=models.Index(fields=["name"], name="catalog_product_name_idx"),
        ),
    ]
