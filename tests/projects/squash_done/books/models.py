from django.db import models


class Book(models.Model):
    title = models.CharField(max_length=200, default="")
    isbn = models.CharField(max_length=13, default="")
    pages = models.IntegerField(null=True)
    year = models.IntegerField(null=True)
