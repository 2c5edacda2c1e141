"""Point a Django project's own settings at Preflight's scratch database.

Standalone: standard library only, no import of `preflight`. Preflight runs the user's
code with

    DJANGO_SETTINGS_MODULE=_preflight_probe.settings
    PREFLIGHT_USER_SETTINGS=<the project's settings module, e.g. shop.settings>
    DATABASE_URL=postgresql://user:password@host:port/scratch_db

and the folder holding this package on PYTHONPATH. The module imports the project's
settings, copies every UPPERCASE name, then rewrites every PostgreSQL alias in DATABASES to the scratch
database, so the user never edits their settings and no PostgreSQL alias can reach
the real server. ENGINE (PostGIS, custom backends) and OPTIONS such as `options`
(search_path) are kept; connection-only options (service, passfile, TLS files) are
dropped. Aliases of other engines (e.g. a SQLite cache) are left as they are.
"""

from __future__ import annotations

import os
from importlib import import_module
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

_CONNECTION_ONLY_OPTIONS = {
    "service",
    "passfile",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslcrl",
    "sslpassword",
    "target_session_attrs",
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
}


def database_from_url(url: str) -> dict[str, str]:
    """Return Django's NAME/USER/PASSWORD/HOST/PORT for a postgresql:// URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError("DATABASE_URL must be a postgresql:// URL")
    query = dict(parse_qsl(parts.query))
    return {
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": unquote(parts.hostname or query.get("host", "")),
        "PORT": str(parts.port or ""),
    }


def options_from_url(url: str) -> dict[str, str]:
    """Return the URL's own libpq parameters (sslmode, options, ...) but the address parts.

    Preflight's scratch URLs have none; `preflight apply` passes the target's (its TLS
    settings), and `options=-c default_transaction_read_only=on` for --dry-run.
    """
    return {key: value for key, value in parse_qsl(urlsplit(url).query) if key not in ("host", "port", "dbname")}


def redirect(
    databases: dict[str, Any] | None, scratch: dict[str, str], url_options: dict[str, str] | None = None
) -> dict[str, Any]:
    """Return DATABASES with every PostgreSQL alias pointed at `scratch` (with the URL's own parameters)."""
    result = {}
    url_options = url_options or {}
    for alias, config in (databases or {}).items():
        config = dict(config)
        if "postgres" in config.get("ENGINE", "") or "postgis" in config.get("ENGINE", ""):
            options = {
                key: value
                for key, value in dict(config.get("OPTIONS") or {}).items()
                if key not in _CONNECTION_ONLY_OPTIONS
            }
            for key, value in url_options.items():
                # Both kept: the project's search_path and the URL's read-only session.
                options[key] = f"{options[key]} {value}" if key == "options" and options.get(key) else value
            config.update(scratch, OPTIONS=options)
            config.pop("TEST", None)
        result[alias] = config
    if "default" not in result:
        result["default"] = dict(scratch, ENGINE="django.db.backends.postgresql", OPTIONS=dict(url_options))
    return result


_user_module = os.environ.get("PREFLIGHT_USER_SETTINGS")
if not _user_module:
    raise RuntimeError("PREFLIGHT_USER_SETTINGS is not set: name the project's settings module")
_user = import_module(_user_module)
for _name in dir(_user):
    if _name.isupper():
        globals()[_name] = getattr(_user, _name)

DATABASES = redirect(
    getattr(_user, "DATABASES", None),
    database_from_url(os.environ["DATABASE_URL"]),
    options_from_url(os.environ["DATABASE_URL"]),
)
