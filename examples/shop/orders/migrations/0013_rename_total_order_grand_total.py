from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0012_remove_order_notes"),
    ]

    operations = [
        migrations.RenameField(
            model_name="order",
            old_name="total",
            new_name="grand_total",
        ),
    ]
