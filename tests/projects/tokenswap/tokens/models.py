from django.db import models


class AccessToken(models.Model):
    token = models.TextField()
    token_checksum = models.CharField(max_length=64, unique=True, db_index=True)
    code = models.CharField(max_length=32, db_index=True)
