from django.apps import AppConfig
from django.db.models.signals import post_migrate


def refuse(sender, **kwargs):
    raise RuntimeError("the shelf's post_migrate handler failed")


class ShelfConfig(AppConfig):
    name = "shelf"

    def ready(self):
        post_migrate.connect(refuse, sender=self)
