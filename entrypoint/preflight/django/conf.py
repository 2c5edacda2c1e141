"""The route's settings, read from django.conf.settings with their defaults, and checked.

Every name starts with PREFLIGHT_. `load()` returns them as one frozen record; a value of
the wrong kind raises ImproperlyConfigured with one line naming the setting and the fix
(the system checks in checks.py report the same lines at startup).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

PERMISSION = "preflight.apply_migrations"
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_RATE = re.compile(r"\s*(\d+)\s*/\s*(\d*)\s*(s|sec|second|m|min|minute|h|hour|d|day)?s?\s*")
_UNIT_SECONDS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
_UNIT_SECONDS |= {"d": 86400, "day": 86400}


@dataclass(frozen=True)
class Rate:
    """At most `attempts` apply attempts per client in `seconds` (refusals count)."""

    attempts: int
    seconds: int


@dataclass(frozen=True)
class Settings:
    """The PREFLIGHT_* settings of the site (defaults in `DEFAULTS`)."""

    apply_token_sha256: str | None
    audit_log: Path | None
    audit_table: str | None
    backup_dir: Path | None
    no_backup: bool
    database: str
    cache: str
    apply_rate: Rate
    lock_wait_seconds: float
    lock_timeout_ms: int
    statement_timeout_ms: int
    retries: int
    backoff_ms: int
    backoff_max_ms: int


_TOKEN_LINE = (
    "PREFLIGHT_APPLY_TOKEN_SHA256 is not a sha256 hex digest. Set it to the output of "
    '`printf %s "$TOKEN" | sha256sum` (64 hex digits), never to the token itself'
)
_AUDIT_LINE = (
    "the route has nowhere to audit: neither PREFLIGHT_AUDIT_LOG nor PREFLIGHT_AUDIT_TABLE is set. "
    'Set PREFLIGHT_AUDIT_LOG = BASE_DIR / "preflight-audit.jsonl" (or a table)'
)
_BACKUP_LINE = (
    "PREFLIGHT_BACKUP_DIR is not set. Set it to a writable folder for the backup taken before applying, "
    "or PREFLIGHT_NO_BACKUP = True to apply without one (recorded in every audit record)"
)
_TABLE_LINE = "PREFLIGHT_AUDIT_TABLE is not a table name. Write [schema.]name (letters, digits, _ and $)"
_RATE_LINE = 'PREFLIGHT_APPLY_RATE is not "<attempts>/<period>". Write e.g. "5/minute", "20/hour" or "3/600s"'

DEFAULTS: dict[str, object] = {
    "PREFLIGHT_APPLY_TOKEN_SHA256": None,  # sha256 hex of the pipeline's bearer token; None: no token access
    "PREFLIGHT_AUDIT_LOG": None,  # JSON-lines file every attempt is appended to
    "PREFLIGHT_AUDIT_TABLE": None,  # [schema.]table in the site's database, also appended to
    "PREFLIGHT_BACKUP_DIR": None,  # where pg_dump writes the backup before applying
    "PREFLIGHT_NO_BACKUP": False,  # True: apply without a backup (recorded in every audit record)
    "PREFLIGHT_DATABASE": "default",  # the alias migrated
    "PREFLIGHT_CACHE": "default",  # the cache the rate limit counts in (shared by all workers)
    "PREFLIGHT_APPLY_RATE": "5/minute",  # apply attempts per client IP
    "PREFLIGHT_LOCK_WAIT_SECONDS": 0,  # how long an apply waits for another one's advisory lock
    "PREFLIGHT_LOCK_TIMEOUT_MS": 3000,  # lock_timeout of every migration statement (0: off)
    "PREFLIGHT_STATEMENT_TIMEOUT_MS": 0,  # statement_timeout (0: off)
    "PREFLIGHT_RETRIES": 3,  # retries after a lock timeout, where a retry is safe
    "PREFLIGHT_BACKOFF_MS": 500,
    "PREFLIGHT_BACKOFF_MAX_MS": 10000,
}


def value(name: str) -> object:
    return getattr(django_settings, name, DEFAULTS[name])


def problems() -> list[tuple[str, str]]:
    """Return (check id, one line) per PREFLIGHT_* setting that is wrong or missing (empty: all good)."""
    found: list[tuple[str, str]] = []
    token = value("PREFLIGHT_APPLY_TOKEN_SHA256")
    if token is not None and not (isinstance(token, str) and _SHA256_HEX.fullmatch(token.strip().lower())):
        found.append(("preflight.E001", _TOKEN_LINE))
    if value("PREFLIGHT_AUDIT_LOG") is None and value("PREFLIGHT_AUDIT_TABLE") is None:
        found.append(("preflight.E002", _AUDIT_LINE))
    if value("PREFLIGHT_BACKUP_DIR") is None and value("PREFLIGHT_NO_BACKUP") is not True:
        found.append(("preflight.E003", _BACKUP_LINE))
    from preflight.apply.audit import TABLE_NAME  # the name --audit-table takes; psycopg only when checked

    table = value("PREFLIGHT_AUDIT_TABLE")
    if table is not None and not (isinstance(table, str) and TABLE_NAME.fullmatch(table)):
        found.append(("preflight.E006", _TABLE_LINE))
    if _rate(value("PREFLIGHT_APPLY_RATE")) is None:
        found.append(("preflight.E004", _RATE_LINE))
    for name in ("LOCK_WAIT_SECONDS", "LOCK_TIMEOUT_MS", "STATEMENT_TIMEOUT_MS", "RETRIES", "BACKOFF_MS"):
        number = value(f"PREFLIGHT_{name}")
        if isinstance(number, bool) or not isinstance(number, int | float) or number < 0:
            found.append(("preflight.E005", f"PREFLIGHT_{name} is not a number >= 0. Set a whole number (0: off)"))
    return found


def load() -> Settings:
    """Return the site's PREFLIGHT_* settings; raise ImproperlyConfigured on the first wrong one."""
    wrong = problems()
    if wrong:
        raise ImproperlyConfigured(wrong[0][1])
    token = value("PREFLIGHT_APPLY_TOKEN_SHA256")
    rate = _rate(value("PREFLIGHT_APPLY_RATE"))
    assert rate is not None
    return Settings(
        apply_token_sha256=str(token).strip().lower() if token else None,
        audit_log=_path(value("PREFLIGHT_AUDIT_LOG")),
        audit_table=str(value("PREFLIGHT_AUDIT_TABLE") or "") or None,
        backup_dir=_path(value("PREFLIGHT_BACKUP_DIR")),
        no_backup=value("PREFLIGHT_NO_BACKUP") is True,
        database=str(value("PREFLIGHT_DATABASE")),
        cache=str(value("PREFLIGHT_CACHE")),
        apply_rate=rate,
        lock_wait_seconds=float(value("PREFLIGHT_LOCK_WAIT_SECONDS")),  # type: ignore[arg-type]
        lock_timeout_ms=int(value("PREFLIGHT_LOCK_TIMEOUT_MS")),  # type: ignore[call-overload]
        statement_timeout_ms=int(value("PREFLIGHT_STATEMENT_TIMEOUT_MS")),  # type: ignore[call-overload]
        retries=int(value("PREFLIGHT_RETRIES")),  # type: ignore[call-overload]
        backoff_ms=int(value("PREFLIGHT_BACKOFF_MS")),  # type: ignore[call-overload]
        backoff_max_ms=int(value("PREFLIGHT_BACKOFF_MAX_MS")),  # type: ignore[call-overload]
    )


def _rate(text: object) -> Rate | None:
    match = _RATE.fullmatch(text) if isinstance(text, str) else None
    if match is None or int(match[1]) < 1:
        return None
    count, unit = int(match[2] or 1), _UNIT_SECONDS[match[3] or "s"]
    return Rate(int(match[1]), count * unit) if count >= 1 else None


def _path(text: object) -> Path | None:
    return Path(str(text)) if text else None
