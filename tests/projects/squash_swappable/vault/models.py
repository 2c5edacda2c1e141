from django.db import models


class Owner(models.Model):
    name = models.CharField(max_length=50, default="")


class Key(models.Model):
    """Swappable, as a package's model often is; the project's settings do not name it."""

    owner = models.ForeignKey(Owner, on_delete=models.CASCADE)

    class Meta:
        swappable = "VAULT_KEY_MODEL"


class Lock(models.Model):
    key = models.ForeignKey(Key, on_delete=models.CASCADE)
