from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("books", "0001_initial")]
    operations = [
        migrations.AddField(model_name="book", name="title", field=models.CharField(default="", max_length=200)),
    ]
