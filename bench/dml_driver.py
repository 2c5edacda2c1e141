"""Run django-migration-linter on the unapplied migrations of some apps and print its
issues as JSON lines (one per issue, with the migration it is about).

Runs in the scenario's interpreter (Django set up from DJANGO_SETTINGS_MODULE), as
`python dml_driver.py LABEL [LABEL ...]`; bench/accuracy.py reads the lines.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import django

django.setup()

from django_migration_linter import MigrationLinter  # noqa: E402


class Recorder(MigrationLinter):  # type: ignore[misc]
    """Keep each issue with its migration instead of printing it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.current = ""
        self.issues: list[dict[str, Any]] = []

    def print_linting_msg(self, app_label: str, migration_name: str, msg: str, lint_result: Any) -> None:
        self.current = f"{app_label}.{migration_name}"

    def _keep(self, issues: list[Any], severity: str) -> None:
        for issue in issues:
            self.issues.append(
                {
                    "migration": self.current,
                    "code": issue.code,
                    "severity": severity,
                    "message": issue.message,
                    "table": issue.table,
                    "column": issue.column,
                }
            )

    def print_errors(self, errors: list[Any]) -> None:
        self._keep(errors, "error")

    def print_warnings(self, warnings: list[Any]) -> None:
        self._keep(warnings, "warning")


def main() -> None:
    linter = Recorder(
        os.getcwd(), include_apps=sys.argv[1:], only_unapplied_migrations=True, no_cache=True, database="default"
    )
    linter.lint_all_migrations()
    for issue in linter.issues:
        print(json.dumps(issue))


if __name__ == "__main__":
    main()
