from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("books", "0004_book_pages")]
    operations = [
        migrations.AddField(model_name="book", name="year", field=models.IntegerField(null=True)),
    ]
