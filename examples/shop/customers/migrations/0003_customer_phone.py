from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0002_address"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="phone",
            field=models.CharField(blank=True, default="", max_length=32),
        ),
    ]
