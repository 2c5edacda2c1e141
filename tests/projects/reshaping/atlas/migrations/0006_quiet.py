from django.db import migrations, models

from atlas.operations import AddFieldQuietly


class Migration(migrations.Migration):
    dependencies = [("atlas", "0005_one_way")]
    operations = [
        AddFieldQuietly(model_name="tag", name="code", field=models.CharField(max_length=10, null=True)),
    ]
