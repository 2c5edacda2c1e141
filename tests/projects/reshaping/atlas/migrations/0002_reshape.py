import django.db.models.deletion
from django.db import migrations, models


def touch(apps, schema_editor):
    apps.get_model("atlas", "Writer").objects.count()


class Migration(migrations.Migration):
    dependencies = [("atlas", "0001_initial")]
    operations = [
        migrations.RenameModel("Author", "Writer"),
        migrations.AlterField(
            model_name="book",
            name="author",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="books", to="atlas.writer"
            ),
        ),
        migrations.AddField(model_name="writer", name="born", field=models.DateField(null=True)),
        migrations.AddIndex(model_name="book", index=models.Index(fields=["title"], name="book_title_idx")),
        migrations.RunPython(touch, migrations.RunPython.noop),
        migrations.RunSQL("SELECT 1", reverse_sql="SELECT 2"),
        migrations.RenameField(model_name="book", old_name="title", new_name="heading"),
    ]
