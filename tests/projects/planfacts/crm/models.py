from django.db import models


class Contact(models.Model):
    email = models.CharField(max_length=100, unique=True)
    name = models.CharField(max_length=50)
    tier = models.CharField(max_length=10)

    class Meta:
        unique_together = [("name", "tier")]
