from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0006_normalize_emails"),
    ]

    operations = [
        migrations.RenameField(
            model_name="customer",
            old_name="name",
            new_name="full_name",
        ),
    ]
