"""The app's configuration: label `preflight`, its system checks registered on ready."""

from __future__ import annotations

from django.apps import AppConfig


class PreflightConfig(AppConfig):
    name = "preflight.django"
    label = "preflight"
    verbose_name = "Preflight"
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        from preflight.django import checks  # noqa: F401  (registers the checks)
