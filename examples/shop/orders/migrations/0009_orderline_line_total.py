from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0008_alter_order_status"),
    ]

    operations = [
        migrations.AddField(
            model_name="orderline",
            name="line_total",
            field=models.DecimalField(decimal_places=2, default=0, max_digits=12),
        ),
    ]
