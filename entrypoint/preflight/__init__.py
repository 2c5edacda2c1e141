"""Preflight: see what pending Django migrations do before they touch production."""

from __future__ import annotations

__version__ = "0.1.0"
