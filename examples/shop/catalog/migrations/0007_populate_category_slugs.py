from django.db import migrations
from django.utils.text import slugify


def fill_slugs(apps, schema_editor):
    Category = apps.get_model("catalog", "Category")
    for category in Category.objects.using(schema_editor.connection.alias).filter(slug=""):
        category.slug = slugify(category.name) or "category-%d" % category.pk
        category.save(update_fields=["slug"])


def clear_slugs(apps, schema_editor):
    Category = apps.get_model("catalog", "Category")
    Category.objects.using(schema_editor.connection.alias).update(slug="")


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0006_category_slug"),
    ]

    operations = [
        migrations.RunPython(fill_slugs, clear_slugs),
    ]
