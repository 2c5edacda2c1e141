from __future__ import annotations

from collections.abc import Iterator

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.rules.measured import MigrationRun


class NoLockTimeout(Rule):
    """RunSQL, RunPython or a non-atomic migration would run without a lock_timeout.

    Why is this bad?
        A statement that waits for a lock (behind a long query or an idle transaction)
        makes every later query on that table queue behind it: minutes of outage from a
        one-millisecond change. Reported when neither the project's database OPTIONS,
        the target's own setting nor the SQL itself sets lock_timeout.

    Example:
        migrations.RunSQL("ALTER TABLE orders_order ADD COLUMN note text")

    Use instead:
        Run migrate with a lock_timeout (Django: DATABASES OPTIONS
        {"options": "-c lock_timeout=5s"} for the migrating settings) or start the SQL
        with SET LOCAL lock_timeout = '5s', and retry on timeout.
    """

    code = "LK216"
    name = "no-lock-timeout"
    category = Category.LOCKING
    severity = Severity.WARNING

    def check_run(self, run: MigrationRun, context: Context) -> Iterator[Finding]:
        if context.facts.lock_timeout_ms:
            return
        raw = [op for op in run.operations if op.type in ("RunSQL", "RunPython")]
        if not raw and run.atomic:
            return
        if any("lock_timeout" in sql for sql, _, _ in run.statements):
            return
        what = f"{raw[0].type} " if raw else "every statement "
        unknown = " (unless the production role or database sets one)" if context.facts.lock_timeout_ms is None else ""
        yield self.finding(
            f"{what}{'in a non-atomic migration ' if not run.atomic else ''}runs without a lock_timeout{unknown}: "
            "if it waits for a lock, every query on that table queues behind it",
            "run migrate with OPTIONS {'options': '-c lock_timeout=5s'} or SET LOCAL lock_timeout in the SQL",
            operation_index=raw[0].index if raw else None,
        )
