"""The dedicated permission `preflight.apply_migrations`, held by a model without a table."""

from __future__ import annotations

from django.db import models


class Migrations(models.Model):
    """Hold the permission to apply migrations through the route (no table: managed = False)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = (("apply_migrations", "Can apply pending migrations through Preflight"),)
