"""From the probe's plan and SQL to findings: units for the engine, inline approvals.

Pure but for reading the pending migration files (for their approval comments).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from preflight import approvals
from preflight.config import ApprovalRule
from preflight.probe.protocol import OperationRef, PendingMigration, PlanAnswer, SqlAnswer
from preflight.rules.base import Finding

__all__ = ["Finding", "inline_approvals", "statements", "units"]
from preflight.rules.engine import Unit
from preflight.sql.parse import Statement, parse


def units(plan: PlanAnswer, sql: SqlAnswer) -> list[Unit]:
    """One unit per operation of every pending migration, in plan order."""
    result: list[Unit] = []
    for migration in plan.pending:
        forwards = sql.of(migration.app, migration.name).forwards
        groups, refs = forwards.by_operation, migration.operations
        if groups is None or len(groups) != len(refs):
            # The SQL could not be split by operation: check it as one block.
            result.append(_unit(migration, forwards.statements))
            continue
        result += [_unit(migration, statements, ref) for ref, statements in zip(refs, groups, strict=True)]
        # SQL the schema editor deferred to the end of the migration (indexes, foreign keys):
        # checked where it runs, last, but it belongs to the operation that queued it.
        result += [_unit(migration, later.statements, refs[later.operation], True) for later in forwards.deferred]
    return result


def _unit(
    migration: PendingMigration, sql: Iterable[str], operation: OperationRef | None = None, deferred: bool = False
) -> Unit:
    return Unit(
        parse("\n".join(sql)),
        migration.atomic,
        app=migration.app,
        migration=migration.name,
        file=migration.file,
        operation=operation,
        deferred=deferred,
    )


def statements(all_units: Iterable[Unit]) -> list[Statement]:
    return [statement for unit in all_units for statement in unit.statements]


def inline_approvals(plan: PlanAnswer, root: Path) -> list[ApprovalRule]:
    """Approval comments written in the pending migration files."""
    found: list[ApprovalRule] = []
    for migration in plan.pending:
        if not migration.file:
            continue
        path = root / migration.file
        if not path.is_file():
            continue  # an installed package's migration: its comments approve nothing here
        spans = [(op.line, op.end_line or op.line) for op in migration.operations if op.line]
        found += approvals.inline(path.read_text(encoding="utf-8"), migration.file, migration.label, spans)
    return found
