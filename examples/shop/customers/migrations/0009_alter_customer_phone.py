from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0008_customer_marketing_opt_in"),
    ]

    operations = [
        migrations.AlterField(
            model_name="customer",
            name="phone",
            field=models.CharField(blank=True, default="", max_length=20),
        ),
    ]
