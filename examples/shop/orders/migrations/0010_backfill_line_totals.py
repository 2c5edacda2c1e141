from django.db import migrations
from django.db.models import F


def fill_line_totals(apps, schema_editor):
    OrderLine = apps.get_model("orders", "OrderLine")
    OrderLine.objects.using(schema_editor.connection.alias).update(
        line_total=F("quantity") * F("unit_price") - F("discount")
    )


def clear_line_totals(apps, schema_editor):
    OrderLine = apps.get_model("orders", "OrderLine")
    OrderLine.objects.using(schema_editor.connection.alias).update(line_total=0)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0009_orderline_line_total"),
    ]

    operations = [
        migrations.RunPython(fill_line_totals, clear_line_totals),
    ]
