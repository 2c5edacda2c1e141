from django.db import migrations


class Migration(migrations.Migration):
    """Case-insensitive e-mail lookups: an expression index Django's ORM cannot declare in 4.2."""

    dependencies = [
        ("customers", "0004_address_country"),
    ]

    operations = [
        migrations.RunSQL(
            sql="CREATE INDEX customers_customer_email_lower_idx ON customers_customer (lower(email));",
            reverse_sql="DROP INDEX customers_customer_email_lower_idx;",
        ),
    ]
