from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0006_backfill_order_totals"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["status", "created_at"], name="orders_order_status_time_idx"),
        ),
    ]
