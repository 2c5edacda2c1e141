from django.db import models


class Thing(models.Model):
    id = models.BigAutoField(primary_key=True)
