# 0001 depends on 0003, 0003 on 0002 and 0002 on 0001: a circular dependency.
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = [("ledger", "0003_tag")]
    operations = [
        migrations.CreateModel(
            name="Entry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("amount", models.IntegerField()),
            ],
        ),
    ]
