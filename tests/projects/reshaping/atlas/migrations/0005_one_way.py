from django.db import migrations, models


def fill(apps, schema_editor):
    apps.get_model("atlas", "Tag").objects.update(weight=2)


class Migration(migrations.Migration):
    dependencies = [("atlas", "0004_split")]
    operations = [
        migrations.RunPython(fill),
        migrations.AddField(model_name="tag", name="note", field=models.TextField(default="")),
    ]
