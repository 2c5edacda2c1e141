from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("crm", "0005_dedupe_emails")]
    operations = [
        migrations.AlterField(model_name="contact", name="email", field=models.CharField(max_length=100, unique=True)),
    ]
