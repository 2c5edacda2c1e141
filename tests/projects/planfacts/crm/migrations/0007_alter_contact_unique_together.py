from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("crm", "0006_alter_contact_email")]
    operations = [
        migrations.AlterUniqueTogether(name="contact", unique_together={("name", "tier")}),
    ]
