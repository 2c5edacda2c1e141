"""Run the route's permission matrix inside a real Django site; print one JSON object of cases.

Run by tests/test_route.py in a child process (Django is set up here, never in pytest's
process), with DJANGO_SETTINGS_MODULE=proj.settings of tests/projects/route_site on the
path, DATABASE_URL pointing at an empty database and ROUTE_TOKEN the pipeline's token.
Each case uses its own client address, so the test finds its audit record by origin.
"""

from __future__ import annotations

import io
import json
import os
import sys
from typing import Any

import django

django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Permission, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client, override_settings  # noqa: E402

from preflight.apply.lock import KEY as LOCK_KEY  # noqa: E402

STATUS = "/ops/preflight/status/"
APPLY = "/ops/preflight/apply/"


def pending_note_migration() -> bool:
    """Return whether notes.0002 (the pinned column) is still unapplied."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'notes_note' AND column_name = 'pinned'"
        )
        column = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM django_migrations WHERE app = 'notes' AND name = '0002_note_pinned'")
        recorded = cursor.fetchone()[0]
    assert column == recorded, "the column and django_migrations disagree"
    return column == 0


def make_pending() -> None:
    call_command("migrate", "notes", "0001", verbosity=0)


def user(name: str, *, active: bool = True, staff: bool = False, permitted: bool = False) -> User:
    account = User.objects.create_user(name, password="unused-password", is_active=active, is_staff=staff)
    if permitted:
        account.user_permissions.add(Permission.objects.get(codename="apply_migrations"))
    return account


def answer(response: Any) -> dict[str, Any]:
    headers = {
        name: response[name] for name in ("Retry-After", "Allow", "WWW-Authenticate") if response.has_header(name)
    }
    return {
        "status": response.status_code,
        "body": json.loads(response.content),
        "text": response.content.decode(),
        "headers": headers,
        "pending_after": pending_note_migration(),
    }


def main() -> None:
    call_command("migrate", verbosity=0)
    make_pending()
    token = os.environ["ROUTE_TOKEN"]
    inactive = user("inactive", active=False, staff=True, permitted=True)
    plain = user("plain", permitted=True)
    staffer = user("staffer", staff=True)
    deployer = user("deployer", staff=True, permitted=True)

    def client(ip: str, account: User | None = None, *, csrf: bool = False) -> Client:
        browser = Client(enforce_csrf_checks=csrf, REMOTE_ADDR=ip)
        if account is not None:
            browser.force_login(account)
        return browser

    cases: dict[str, Any] = {}
    cases["anonymous"] = answer(client("10.0.0.1").post(APPLY))
    cases["inactive"] = answer(client("10.0.0.2", inactive).post(APPLY))
    cases["non_staff"] = answer(client("10.0.0.3", plain).post(APPLY))
    cases["staff_without_permission"] = answer(client("10.0.0.4", staffer).post(APPLY))
    cases["get_instead_of_post"] = answer(client("10.0.0.5", deployer).get(APPLY))
    cases["missing_csrf"] = answer(client("10.0.0.6", deployer, csrf=True).post(APPLY))
    cases["status_anonymous"] = answer(client("10.0.0.20").get(STATUS))
    cases["status_non_staff"] = answer(client("10.0.0.21", plain).get(STATUS))

    # A staff client as a browser would: GET status (which sets the csrftoken cookie), then POST with it.
    browser = client("10.0.0.7", deployer, csrf=True)
    cases["status_staff"] = answer(browser.get(STATUS))
    csrf_token = browser.cookies["csrftoken"].value
    cases["staff_with_permission"] = answer(browser.post(APPLY, HTTP_X_CSRFTOKEN=csrf_token))

    make_pending()
    cases["wrong_token"] = answer(client("10.0.0.8").post(APPLY, HTTP_AUTHORIZATION="Bearer not-the-token"))
    with psycopg.connect(os.environ["DATABASE_URL"], application_name="other deploy") as other:
        other.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        cases["locked"] = answer(client("10.0.0.10").post(APPLY, HTTP_AUTHORIZATION=f"Bearer {token}"))
    cases["right_token"] = answer(client("10.0.0.9", csrf=True).post(APPLY, HTTP_AUTHORIZATION=f"Bearer {token}"))
    cases["nothing_pending"] = answer(client("10.0.0.12").post(APPLY, HTTP_AUTHORIZATION=f"Bearer {token}"))

    for attempt in range(1, 5):
        cases[f"rate_limit_{attempt}"] = answer(client("10.0.0.11").post(APPLY))
    for attempt in range(1, 5):  # guessing the token through status/
        guess = client("10.0.0.17").get(STATUS, HTTP_AUTHORIZATION=f"Bearer guess-{attempt}")
        cases[f"status_guess_{attempt}"] = answer(guess)

    make_pending()
    out = io.StringIO()
    call_command("preflight_migrate", stdout=out)
    cases["command"] = {"stdout": out.getvalue(), "pending_after": pending_note_migration()}
    # A migration that fails, its message carrying the database password: one redacted line, no traceback.
    with override_settings(INSTALLED_APPS=[*settings.INSTALLED_APPS, "boom"]):
        cases["failing"] = answer(client("10.0.0.13").post(APPLY, HTTP_AUTHORIZATION=f"Bearer {token}"))
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('boom_thing') IS NULL")
            cases["failing"]["rolled_back"] = cursor.fetchone()[0]

    # The audit table as well: appended to beside the log, and read back by status.
    with override_settings(PREFLIGHT_AUDIT_TABLE="preflight_audit"):
        cases["table_refusal"] = answer(client("10.0.0.14").post(APPLY, HTTP_AUTHORIZATION="Bearer wrong"))
        cases["table_status"] = answer(client("10.0.0.15").get(STATUS, HTTP_AUTHORIZATION=f"Bearer {token}"))
    with override_settings(PREFLIGHT_AUDIT_TABLE="audit; DROP TABLE notes_note"):
        cases["bad_table"] = answer(client("10.0.0.16").post(APPLY, HTTP_AUTHORIZATION=f"Bearer {token}"))

    cli_parts = ("preflight.cli", "preflight.demo", "testcontainers")
    cases["modules"] = sorted(name for name in cli_parts if name in sys.modules)
    json.dump(cases, sys.stdout)


if __name__ == "__main__":
    main()
