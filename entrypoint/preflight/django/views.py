"""The route's two views: GET status (pending + last audit records), POST apply. JSON only.

Every apply attempt is audited, refusals included, in this order of judgement: where to
audit (503 if nowhere), who asks, the rate limit (429), the method (405 on anything but
POST), the access rules (401/403). No answer carries a traceback or a secret: an
unexpected error is logged for the site's operators and answered as one line (500).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, ensure_csrf_cookie

from preflight.django import access, conf, ratelimit, service

logger = logging.getLogger("preflight.django")
# The HTTP status of each audit result ("blocked": the gate refused the plan; "backup-failed": nothing applied).
_STATUS = {
    "applied": 200,
    "nothing-pending": 200,
    "locked": 409,
    "blocked": 409,
    "failed": 500,
    "backup-failed": 500,
    "unverified": 500,  # applied, but showmigrations or check failed after
}

View = Callable[[HttpRequest], JsonResponse]
NOT_CONFIGURED = "the Preflight route is not configured: the site's log and `manage.py check` say why"


def _json_errors(view: View) -> View:
    """Answer a misconfiguration with its line (503) and anything unexpected with one line (500)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest) -> JsonResponse:
        try:
            return view(request)
        except ImproperlyConfigured as exc:
            # Which setting is wrong is for the site's operators (log, `manage.py check`), not for any caller.
            logger.error("Preflight route is not configured: %s", exc)
            return _answer("failed", 503, error=NOT_CONFIGURED)
        except Exception as exc:
            logger.exception("Preflight route: %s failed", request.path)
            return _answer(
                "failed",
                500,
                error=f"internal error in the Preflight route ({type(exc).__name__}); the site's log has the details",
            )

    return wrapped


@never_cache
@ensure_csrf_cookie  # a staff client reads its csrftoken cookie here before it POSTs to apply
@_json_errors
def status(request: HttpRequest) -> JsonResponse:
    """Answer the pending migrations and the last audit records (staff with the permission, or the token)."""
    settings = conf.load()
    if request.method not in ("GET", "HEAD"):
        return _not_allowed("GET", f"{request.method} is not allowed here: GET this URL")
    decision = access.decide(request, settings, csrf=False)
    if not decision.allowed:
        # Refusals count against the same limit as apply's: guessing the token here costs the same.
        ip = access.client_ip(request)
        limited = ratelimit.count(ip, settings.apply_rate, settings.cache)
        if not limited.allowed:
            response = _answer("refused", 429, error=f"rate limit: too many refused attempts from {ip}")
            response["Retry-After"] = str(limited.retry_after)
            return response
        return _refused(decision)
    found = service.status(settings)
    return JsonResponse({"pending": list(found.pending), "audit": found.audit})


@csrf_exempt  # checked in access.decide, so that a failed check is audited as a refusal
@never_cache
@transaction.non_atomic_requests  # migrations manage their own transactions (ATOMIC_REQUESTS would wrap them)
@_json_errors
def apply(request: HttpRequest) -> JsonResponse:
    """Apply the pending migrations for an authorised POST; audit every attempt, refusals included."""
    settings = conf.load()
    unready = service.audit_ready(settings)
    if unready is not None:
        logger.error("Preflight route: refused an apply that could not be audited: %s", unready)
        return _answer("failed", 503, error=f"{NOT_CONFIGURED}; nothing was applied")
    ip = access.client_ip(request)
    decision = access.decide(request, settings, csrf=request.method == "POST")
    caller = service.Caller(who=decision.who, origin=ip, via="route")
    verdict = ratelimit.count(ip, settings.apply_rate, settings.cache)
    if not verdict.allowed:
        rate = settings.apply_rate
        reason = (
            f"rate limit: over {rate.attempts} attempts in {rate.seconds} s from {ip}; "
            f"retry after {verdict.retry_after} s"
        )
        service.refuse(caller, settings, reason)
        response = _answer("refused", 429, error=reason)
        response["Retry-After"] = str(verdict.retry_after)
        return response
    if request.method != "POST":
        reason = f"{request.method} does not apply migrations: POST to this URL"
        service.refuse(caller, settings, reason)
        return _not_allowed("POST", reason)
    if not decision.allowed:
        assert decision.reason is not None
        service.refuse(caller, settings, decision.reason)
        return _refused(decision)
    outcome = service.apply(caller, settings)
    return _answer(
        outcome.result,
        _STATUS.get(outcome.result, 500),
        list(outcome.applied),
        outcome.error,
        pending=list(outcome.pending),
    )


def _refused(decision: access.Decision) -> JsonResponse:
    response = _answer("refused", decision.status, error=decision.reason)
    if decision.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="preflight"'
    return response


def _not_allowed(allow: str, reason: str) -> JsonResponse:
    response = _answer("refused", 405, error=reason)
    response["Allow"] = allow
    return response


def _answer(
    result: str, status: int, applied: list[str] | None = None, error: str | None = None, **extra: Any
) -> JsonResponse:
    return JsonResponse({"result": result, "applied": applied or [], "error": error, **extra}, status=status)
