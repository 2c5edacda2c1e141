from django.db import models


class Item(models.Model):
    sku = models.CharField(max_length=20)
    quantity = models.IntegerField(default=0)
