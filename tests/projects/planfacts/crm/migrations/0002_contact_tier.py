from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial")]
    operations = [
        migrations.AddField(model_name="contact", name="tier", field=models.CharField(max_length=10, null=True)),
    ]
