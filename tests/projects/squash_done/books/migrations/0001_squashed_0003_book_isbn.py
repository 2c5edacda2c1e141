from django.db import migrations, models


class Migration(migrations.Migration):
    replaces = [("books", "0001_initial"), ("books", "0002_book_title"), ("books", "0003_book_isbn")]
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Book",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("title", models.CharField(default="", max_length=200)),
                ("isbn", models.CharField(default="", max_length=13)),
            ],
        ),
    ]
