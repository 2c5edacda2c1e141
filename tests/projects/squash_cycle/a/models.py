from django.db import models


class A(models.Model):
    x = models.IntegerField(null=True)
    partner = models.ForeignKey("b.B", null=True, on_delete=models.SET_NULL)
    y = models.IntegerField(null=True)
