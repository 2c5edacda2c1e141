from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0007_rename_name_customer_full_name"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="marketing_opt_in",
            field=models.BooleanField(default=False),
        ),
    ]
