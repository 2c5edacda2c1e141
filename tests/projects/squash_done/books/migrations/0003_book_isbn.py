from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("books", "0002_book_title")]
    operations = [
        migrations.AddField(model_name="book", name="isbn", field=models.CharField(default="", max_length=13)),
    ]
