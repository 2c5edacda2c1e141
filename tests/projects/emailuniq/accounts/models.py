from django.db import models


class EmailAddress(models.Model):
    """django-allauth's account.EmailAddress, as 0003 and 0009 leave it (user id without the auth app)."""

    user_id = models.IntegerField()
    email = models.CharField(max_length=254, unique=True)
    verified = models.BooleanField(default=False)
    primary = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_id", "email"], name="unique_email"),
            models.UniqueConstraint(fields=["email"], condition=models.Q(verified=True), name="unique_verified_email"),
            models.UniqueConstraint(fields=["user_id"], condition=models.Q(primary=True), name="unique_primary_email"),
        ]


class GroupResult(models.Model):
    """django-celery-results' GroupResult: its 0009 added an index to the state only, 0010 drops it."""

    group_id = models.CharField(max_length=255)
