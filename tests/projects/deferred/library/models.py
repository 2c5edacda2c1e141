from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)
    bio = models.TextField(null=True)


class Book(models.Model):
    title = models.CharField(max_length=200)
    isbn = models.CharField(max_length=20, db_index=True, default="")
    author = models.ForeignKey(Author, null=True, on_delete=models.SET_NULL)
