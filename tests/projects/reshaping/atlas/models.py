from django.db import models


class Writer(models.Model):
    name = models.CharField(max_length=120, unique=True)
    born = models.DateField(null=True)


class Tag(models.Model):
    label = models.CharField(max_length=20, unique=True)
    weight = models.IntegerField(default=1)
    note = models.TextField(default="")
    code = models.CharField(max_length=10, null=True)

    class Meta:
        indexes = [models.Index(fields=["code"], name="tag_code_idx")]


class Book(models.Model):
    heading = models.CharField(max_length=150)
    author = models.ForeignKey(Writer, on_delete=models.CASCADE, related_name="books")
    editor = models.ForeignKey(Writer, null=True, on_delete=models.SET_NULL, related_name="edited", to_field="name")
    tags = models.ManyToManyField(Tag)

    class Meta:
        indexes = [models.Index(fields=["heading"], name="book_title_idx")]
        constraints = [models.UniqueConstraint(fields=("heading", "author"), name="book_heading_author_uniq")]
