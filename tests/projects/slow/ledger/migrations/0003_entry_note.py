from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_slow")]
    operations = [migrations.AddField("entry", "note", models.TextField(default="", blank=True))]
