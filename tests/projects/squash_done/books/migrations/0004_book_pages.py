from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("books", "0001_squashed_0003_book_isbn")]
    operations = [
        migrations.AddField(model_name="book", name="pages", field=models.IntegerField(null=True)),
    ]
