import django.db.models.deletion
from django.db import migrations, models


# The schema editor defers the CREATE INDEX of operations 0 and 1 to the end of the
# migration, after operation 2 (which has nothing to do with it).
class Migration(migrations.Migration):
    dependencies = [("library", "0001_initial")]
    operations = [
        migrations.AddField(
            model_name="book",
            name="isbn",
            field=models.CharField(db_index=True, default="", max_length=20),
        ),
        migrations.AddField(
            model_name="book",
            name="author",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.SET_NULL, to="library.author"
            ),
        ),
        migrations.AddField(
            model_name="author",
            name="bio",
            field=models.TextField(null=True),
        ),
    ]
