from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("stock", "0002_reserve")]
    operations = [
        migrations.AddField(model_name="note", name="pinned", field=models.BooleanField(default=False)),
    ]
