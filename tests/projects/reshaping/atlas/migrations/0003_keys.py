import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("atlas", "0002_reshape")]
    operations = [
        migrations.AlterField(model_name="writer", name="name", field=models.CharField(max_length=80, unique=True)),
        migrations.AddField(
            model_name="book",
            name="editor",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="edited",
                to="atlas.writer",
                to_field="name",
            ),
        ),
        migrations.AlterField(model_name="writer", name="name", field=models.CharField(max_length=120, unique=True)),
        migrations.AddConstraint(
            model_name="book",
            constraint=models.UniqueConstraint(fields=("heading", "author"), name="book_heading_author_uniq"),
        ),
        migrations.AddField(model_name="book", name="tags", field=models.ManyToManyField(to="atlas.tag")),
    ]
