from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("shop", "0002_order_status")]
    operations = [
        AddIndexConcurrently("order", models.Index(fields=["placed"], name="shop_order_placed_idx")),
    ]
