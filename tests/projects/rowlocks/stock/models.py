from django.db import models


class Item(models.Model):
    sku = models.CharField(max_length=40)
    qty = models.IntegerField()
    reserved = models.IntegerField(default=0)


class Note(models.Model):
    text = models.TextField()
    pinned = models.BooleanField(default=False)
