from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("crm", "0003_fill_tier")]
    operations = [
        migrations.AlterField(model_name="contact", name="tier", field=models.CharField(max_length=10)),
    ]
