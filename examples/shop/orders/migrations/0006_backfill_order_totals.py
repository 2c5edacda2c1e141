from django.db import migrations
from django.db.models import DecimalField, ExpressionWrapper, F, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce


def compute_totals(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    OrderLine = apps.get_model("orders", "OrderLine")
    db = schema_editor.connection.alias
    amount = ExpressionWrapper(
        F("quantity") * F("unit_price") - F("discount"),
        output_field=DecimalField(max_digits=12, decimal_places=2),
    )
    per_order = (
        OrderLine.objects.using(db)
        .filter(order=OuterRef("pk"))
        .values("order")
        .annotate(amount=Sum(amount))
        .values("amount")
    )
    Order.objects.using(db).update(total=Coalesce(Subquery(per_order), 0, output_field=DecimalField()))


def zero_totals(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    Order.objects.using(schema_editor.connection.alias).update(total=0)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0005_order_shipping_address"),
    ]

    operations = [
        migrations.RunPython(compute_totals, zero_totals),
    ]
