from django.db import migrations
from django.db.models.functions import Lower


def lowercase_emails(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    Customer.objects.using(schema_editor.connection.alias).update(email=Lower("email"))


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0005_customer_email_lower_idx"),
    ]

    operations = [
        # The original case is not kept anywhere, so going back leaves e-mails lowercased.
        migrations.RunPython(lowercase_emails, migrations.RunPython.noop),
    ]
