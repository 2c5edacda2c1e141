from django.db import models


class Entry(models.Model):
    amount = models.IntegerField()
    memo = models.TextField(default="")
