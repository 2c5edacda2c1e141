from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from preflight.probe import protocol
from preflight.rules.base import Category, Context, Finding, Rule, Severity


class MissingMigrations(Rule):
    """Models changed without a migration (what `makemigrations --check` catches).

    Why is this bad?
        The code expects columns or tables that no migration creates, so it fails
        against the database as soon as it is deployed. Preflight asks exactly what
        `manage.py makemigrations --check --dry-run --noinput` would: translations off
        (a translated `verbose_name` or choice is not a change), `MIGRATION_MODULES`
        respected, every installed app. The finding points at the first changed model.
        For an installed package (outside the project, or in site-packages) it names
        the package and its installed version instead: its models and its own
        migrations disagree, which is not yours to fix with a migration.

    Example:
        A field added to a model in models.py, with no new file in migrations/.

    Use instead:
        Run `python manage.py makemigrations APP` and commit the migration with the change.
        For an installed package, install the release whose migrations match its models
        (check the version your requirements pin), or report it to its maintainers.
    """

    code = "BR304"
    name = "missing-migrations"
    category = Category.BREAKING
    severity = Severity.ERROR

    def check_project(self, missing: protocol.MissingMigrations, context: Context) -> Iterator[Finding]:
        for app, entry in sorted(missing.apps.items()):
            changes = list(entry.changes)
            notes = [note.rstrip(".") for note in entry.notes]
            said = f" (makemigrations --noinput says: {'; '.join(notes)})" if notes else ""
            package = entry.package
            if package:
                version = entry.version
                installed = f"{package} {version}" if version else package
                finding = self.finding(
                    f"installed package {installed} (app {app}) does not match its own migrations: "
                    f"its models have changes that no migration of it makes: {'; '.join(changes)}{said}",
                    f"install the release of {package} whose migrations match its models (check the version your "
                    "requirements pin), or report it to its maintainers; do not write a migration for it here",
                    app=app,
                    changes=changes,
                    package=package,
                    version=version,
                )
                yield replace(finding, app=app)
                continue
            finding = self.finding(
                f"app {app} has model changes without a migration: {'; '.join(changes)}{said}",
                f"run python manage.py makemigrations {app} and commit the migration it writes",
                app=app,
                changes=changes,
            )
            yield replace(finding, app=app, file=entry.file or None, line=entry.line)
