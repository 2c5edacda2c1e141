from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Thing",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("note", models.CharField(max_length=20, db_column="n<img src=x>[Approve](https://x)")),
            ],
            options={"db_table": "pwn_thing</details>@org/team"},
        ),
    ]
