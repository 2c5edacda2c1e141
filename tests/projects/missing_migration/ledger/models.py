from django.db import models


class Entry(models.Model):
    amount = models.IntegerField()
    memo = models.CharField(max_length=200, default="")  # added without a migration
