from django.db import models


class Account(models.Model):
    name = models.CharField(max_length=100, unique=True)


class Entry(models.Model):
    account = models.ForeignKey(Account, on_delete=models.PROTECT)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    memo = models.CharField(max_length=210, default="")
    f59 = models.IntegerField(null=True)

    class Meta:
        indexes = [models.Index(fields=["f59"], name="entry_f59_idx")]
