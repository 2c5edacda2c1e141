"""`manage.py preflight_migrate`: apply the pending migrations as the route does, audited."""

from __future__ import annotations

import getpass
import json
import socket
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from preflight.django import conf, service
from preflight.errors import ExitCode

_EXIT = {"refused": ExitCode.USAGE}  # the rest carry `preflight apply`'s own exit code


class Command(BaseCommand):
    help = "Apply the pending migrations under Preflight's migration lock, audited like the route."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--status", action="store_true", help="print what is pending and the last audit records")
        parser.add_argument("--json", action="store_true", help="print the outcome as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        settings = conf.load()
        if options["status"]:
            found = service.status(settings)
            self.stdout.write(json.dumps({"pending": list(found.pending), "audit": found.audit}, indent=2))
            return
        unready = service.audit_ready(settings)
        if unready is not None:
            raise CommandError(f"{unready}. Fix the audit settings; nothing was applied", returncode=ExitCode.USAGE)
        caller = service.Caller(who=getpass.getuser(), origin=socket.gethostname(), via="command")
        outcome = service.apply(caller, settings)
        if options["json"]:
            answer = {"result": outcome.result, "applied": list(outcome.applied), "error": outcome.error}
            self.stdout.write(json.dumps(answer))
        elif outcome.applied:
            self.stdout.write(f"applied {len(outcome.applied)} migration(s): {', '.join(outcome.applied)}")
        elif outcome.result == "nothing-pending":
            self.stdout.write("nothing pending")
        if outcome.error is not None:
            code = outcome.exit_code or _EXIT.get(outcome.result, ExitCode.INTERNAL)
            raise CommandError(outcome.error, returncode=code)
