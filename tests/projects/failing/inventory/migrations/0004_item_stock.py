from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("inventory", "0003_unique_sku")]
    operations = [
        migrations.AddField(model_name="item", name="stock", field=models.IntegerField(default=0)),
    ]
