from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("books", "0002_book_title")]
    operations = [
        migrations.CreateModel(name="Shelf", fields=[("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")), ("book", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="books.book"))]),
    ]
