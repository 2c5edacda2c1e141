from django.db import models


class Shelf(models.Model):
    book = models.ForeignKey("books.Book", on_delete=models.CASCADE)
