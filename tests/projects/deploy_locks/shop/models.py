from django.db import models


class Order(models.Model):
    placed = models.IntegerField()
    remark = models.CharField(max_length=40, default="")
    status = models.CharField(max_length=10, default="new")

    class Meta:
        indexes = [models.Index(fields=["placed"], name="shop_order_placed_idx")]
