from django.db import models
from django.utils.translation import gettext_lazy as _


class Book(models.Model):
    title = models.CharField(_("title"), max_length=200)
    status = models.CharField(
        _("status"), max_length=10, choices=[("draft", _("draft")), ("published", _("published"))], default="draft"
    )

    class Meta:
        verbose_name = _("book")
        verbose_name_plural = _("books")
