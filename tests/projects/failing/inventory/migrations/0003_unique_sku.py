from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("inventory", "0002_seed_items")]
    operations = [
        migrations.AlterField(
            model_name="item",
            name="sku",
            field=models.CharField(max_length=20, unique=True),
        ),
    ]
