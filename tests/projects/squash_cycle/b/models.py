from django.db import models


class B(models.Model):
    owner = models.ForeignKey("a.A", on_delete=models.CASCADE)
