from django.db import models


class Box(models.Model):
    label = models.CharField(max_length=40)
