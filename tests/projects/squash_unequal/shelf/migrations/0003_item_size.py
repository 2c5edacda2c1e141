from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shelf", "0002_item_search")]
    operations = [
        migrations.AddField(model_name="item", name="size", field=models.IntegerField(null=True)),
    ]
