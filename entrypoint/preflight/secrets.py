"""Keep secrets out of everything Preflight prints, logs or writes.

Every password Preflight learns (from a URL, a generated server password, a token) is
registered here; `redact` replaces each with `***` and masks the password part of any
PostgreSQL URL it finds, registered or not.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

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


def redact(text: str) -> str:
    """Return `text` with every registered secret and URL password masked."""
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + _MASK, text)
    text = _KEYWORD_PASSWORD.sub(lambda m: m.group("head") + _MASK, text)
    for secret in sorted(_registered, key=len, reverse=True):
        text = text.replace(secret, _MASK)
    return text
