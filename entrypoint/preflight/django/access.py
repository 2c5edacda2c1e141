"""Who may use the route: a staff user holding the permission (with CSRF), or the pipeline's token.

A request carrying `Authorization: Bearer <token>` is judged by the token alone: its
sha256 hex is compared in constant time with PREFLIGHT_APPLY_TOKEN_SHA256 (the token is
never stored or written anywhere). Any other request is judged by its session user:
authenticated, active, staff, holding `preflight.apply_migrations`, and, for a POST,
passing Django's CSRF check (the views are exempt from the middleware so that a refusal is
audited like any other, and token requests need none: a browser cannot forge the header).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware

from preflight.django.conf import PERMISSION, Settings

NOT_AUTHENTICATED = (
    "not authenticated: log in as a staff user with the preflight.apply_migrations permission, "
    "or send Authorization: Bearer <token>"
)


@dataclass(frozen=True)
class Decision:
    """Whether the request may go on; if not, the HTTP status and the reason (audited, and answered)."""

    who: str
    status: int = 200
    reason: str | None = None

    @property
    def allowed(self) -> bool:
        return self.reason is None


def client_ip(request: HttpRequest) -> str:
    """Return the client's address as the server saw it (behind a proxy, set REMOTE_ADDR from it)."""
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def decide(request: HttpRequest, settings: Settings, *, csrf: bool) -> Decision:
    """Judge the request by its bearer token if it has one, else by its session user."""
    scheme, _, token = str(request.META.get("HTTP_AUTHORIZATION", "")).partition(" ")
    if scheme.lower() == "bearer":
        return _by_token(token.strip(), settings)
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return Decision("anonymous", 401, NOT_AUTHENTICATED)
    who = str(user.get_username())
    if not user.is_active:
        return Decision(who, 403, "user is inactive")
    if csrf:
        failure = csrf_failure(request)
        if failure is not None:
            return Decision(who, 403, f"CSRF check failed: {failure.rstrip('.')}")
    if not user.is_staff:
        return Decision(who, 403, "user is not staff")
    if not user.has_perm(PERMISSION):
        return Decision(who, 403, f"user lacks the {PERMISSION} permission")
    return Decision(who)


def _by_token(token: str, settings: Settings) -> Decision:
    if settings.apply_token_sha256 is None:
        return Decision(
            "bearer token (not accepted)",
            401,
            "bearer tokens are not accepted: PREFLIGHT_APPLY_TOKEN_SHA256 is not set",
        )
    digest = hashlib.sha256(token.encode()).hexdigest()
    if not hmac.compare_digest(digest, settings.apply_token_sha256):
        return Decision("bearer token (wrong)", 401, "wrong bearer token")
    return Decision("bearer token")


class _CsrfCheck(CsrfViewMiddleware):
    """Django's own CSRF check, answering the reason of a failure instead of a 403 page."""

    def _reject(self, request: HttpRequest, reason: str) -> Any:
        return reason


def csrf_failure(request: HttpRequest) -> str | None:
    """Return why Django's CSRF check rejects the request, or None when it passes."""
    check = _CsrfCheck(lambda request: HttpResponse())
    check.process_request(request)
    reason = check.process_view(request, lambda request: HttpResponse(), (), {})
    return None if reason is None else str(reason)
