"""Keep secrets out of everything Preflight prints, logs or writes.

Every password Preflight learns (from a URL, a generated server password, a token) is
registered here; `redact` replaces each with `***` and masks the password part of any
PostgreSQL URL it finds, registered or not.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

_MASK = "***"
_registered: set[str] = set()
_URL_PASSWORD = re.compile(r"(?P<head>postgres(?:ql)?(?:\+\w+)?://[^:/@\s]*:)(?P<pw>[^@\s]*)(?=@)")
_KEYWORD_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|\S+)", re.I)


def register(secret: str | None) -> None:
    """Remember a secret so `redact` hides it wherever it appears."""
    if secret and len(secret) >= 3:
        _registered.add(secret)
        decoded = unquote(secret)
        if decoded != secret:
            _registered.add(decoded)


def register_url(url: str) -> None:
    """Remember a database URL and its password (URL or key=value form), however it parses."""
    register(url)
    password: str | None = None
    try:
        import psycopg

        password = str(psycopg.conninfo.conninfo_to_dict(url).get("password") or "") or None
    except Exception:  # a malformed URL still must not leak: fall back to the URL syntax
        try:
            password = urlsplit(url).password
        except ValueError:
            password = None
    register(password)


def redact(text: str) -> str:
    """Return `text` with every registered secret and URL password masked."""
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + _MASK, text)
    text = _KEYWORD_PASSWORD.sub(lambda m: m.group("head") + _MASK, text)
    for secret in sorted(_registered, key=len, reverse=True):
        text = text.replace(secret, _MASK)
    return text


def carried_by(value: str) -> bool:
    """Return whether `value` holds a registered secret or a PostgreSQL URL with a password.

    A short secret (under 8 characters) counts only as the whole value: as a substring it
    would match ordinary text (a PATH entry, a locale name) by chance.
    """
    if _URL_PASSWORD.search(value) or _KEYWORD_PASSWORD.search(value):
        return True
    return any(value == secret or (len(secret) >= 8 and secret in value) for secret in _registered)
