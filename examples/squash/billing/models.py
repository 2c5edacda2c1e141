from django.db import models


class Invoice(models.Model):
    account = models.ForeignKey("ledger.Account", on_delete=models.PROTECT)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    paid = models.BooleanField(default=False)
