from django.db import models


class Widget(models.Model):
    name = models.CharField(max_length=100)
    color = models.CharField(max_length=20, blank=True)  # this release forgot the migration
