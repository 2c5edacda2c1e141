from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from preflight.rules.base import Category, Context, Finding, Rule, Severity


class MissingMigrations(Rule):
    """Models changed without a migration (what `makemigrations --check` catches).

    Why is this bad?
        The code expects columns or tables that no migration creates, so it fails
        against the database as soon as it is deployed.

    Example:
        A field added to a model in models.py, with no new file in migrations/.

    Use instead:
        Run `python manage.py makemigrations` and commit the migration with the change.
    """

    code = "BR304"
    name = "missing-migrations"
    category = Category.BREAKING
    severity = Severity.ERROR

    def check_project(self, missing: dict[str, list[str]], context: Context) -> Iterator[Finding]:
        for app, changes in sorted(missing.items()):
            if app == "_error":
                continue
            finding = self.finding(
                f"app {app} has model changes without a migration: {'; '.join(changes)}",
                f"run `python manage.py makemigrations {app}` and commit the migration",
                app=app,
                changes=changes,
            )
            yield replace(finding, app=app)
