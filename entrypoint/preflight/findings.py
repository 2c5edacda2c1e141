"""From the probe's plan and SQL to findings: units for the engine, inline approvals.

Pure but for reading the pending migration files (for their approval comments).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from preflight import approvals
from preflight.config import ApprovalRule
from preflight.probe.protocol import OperationRef
from preflight.rules.base import Finding

__all__ = ["Finding", "inline_approvals", "statements", "units"]
from preflight.rules.engine import Unit
from preflight.sql.parse import Statement, parse


def units(plan: dict[str, Any], sql: dict[str, Any]) -> list[Unit]:
    """One unit per operation of every pending migration, in plan order."""
    sql_by = {(m["app"], m["name"]): m for m in sql["migrations"]}
    result: list[Unit] = []
    for migration in plan["pending"]:
        forwards = sql_by[(migration["app"], migration["name"])]["forwards"]
        groups = forwards.get("by_operation")
        operations = migration["operations"]
        common = {"app": migration["app"], "migration": migration["name"], "file": migration["file"]}
        if groups is None or len(groups) != len(operations):
            # The SQL could not be split by operation: check it as one block.
            result.append(Unit(parse("\n".join(forwards.get("statements") or [])), migration["atomic"], **common))
            continue
        refs = [
            OperationRef(
                operation["index"],
                operation["type"],
                operation["describe"],
                operation["line"],
                operation.get("end_line"),
                operation["reversible"],
            )
            for operation in operations
        ]
        for ref, statements in zip(refs, groups, strict=True):
            result.append(Unit(parse("\n".join(statements)), migration["atomic"], operation=ref, **common))
        # SQL the schema editor deferred to the end of the migration (indexes, foreign keys):
        # checked where it runs, last, but it belongs to the operation that queued it.
        for later in forwards.get("deferred") or []:
            ref = refs[later["operation"]]
            result.append(
                Unit(parse("\n".join(later["statements"])), migration["atomic"], operation=ref, deferred=True, **common)
            )
    return result


def statements(all_units: Iterable[Unit]) -> list[Statement]:
    return [statement for unit in all_units for statement in unit.statements]


def inline_approvals(plan: dict[str, Any], root: Path) -> list[ApprovalRule]:
    """Approval comments written in the pending migration files."""
    found: list[ApprovalRule] = []
    for migration in plan["pending"]:
        if not migration["file"]:
            continue
        path = root / migration["file"]
        if not path.is_file():
            continue  # an installed package's migration: its comments approve nothing here
        spans = [(op["line"], op.get("end_line") or op["line"]) for op in migration["operations"] if op["line"]]
        label = f"{migration['app']}.{migration['name']}"
        found += approvals.inline(path.read_text(encoding="utf-8"), migration["file"], label, spans)
    return found
