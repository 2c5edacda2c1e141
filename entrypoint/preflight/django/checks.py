"""System checks: a wrong or missing PREFLIGHT_* setting is reported at startup, not at the first apply."""

from __future__ import annotations

from typing import Any

from django.core import checks

from preflight.django import conf


@checks.register(checks.Tags.security)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Report each wrong PREFLIGHT_* setting as an error (the route refuses to apply until fixed)."""
    return [checks.Error(line, id=check_id) for check_id, line in conf.problems()]
