from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_memo")]
    operations = [migrations.AddField("entry", "tag", models.CharField(max_length=20, default=""))]
