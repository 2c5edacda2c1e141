"""Row locks a migration held on the copy: which rows of which table, for how long. Pure.

An UPDATE or DELETE locks every row it changes (SELECT ... FOR UPDATE / FOR NO KEY
UPDATE / FOR SHARE every row it returns) until its transaction ends. Table locks say
nothing about it (ROW EXCLUSIVE does not conflict with ROW EXCLUSIVE), so the rows come
from what the copy counted for each recorded statement (cursor.rowcount), and the time
from when the statement started to when its transaction ended.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from pglast import ast, enums

from preflight.sql.params import with_parameters
from preflight.sql.parse import parse, relation_name

if TYPE_CHECKING:  # measured.MigrationRun reads its row holds from here
    from preflight.evidence.measured import Lock

# FOR KEY SHARE is left out: it does not block an UPDATE that leaves the key alone.
ROW_LOCKING = {
    enums.LockClauseStrength.LCS_FORUPDATE,
    enums.LockClauseStrength.LCS_FORNOKEYUPDATE,
    enums.LockClauseStrength.LCS_FORSHARE,
}


class Recorded(Protocol):
    """A statement as the probe recorded it (measured.Executed)."""

    @property
    def sql(self) -> str: ...
    @property
    def duration_ms(self) -> float: ...
    @property
    def rows(self) -> int | None: ...
    @property
    def count(self) -> int: ...
    @property
    def started_ms(self) -> float: ...
    @property
    def operation(self) -> int | None: ...
    @property
    def internal(self) -> bool: ...


@dataclass(frozen=True)
class RowHold:
    """Rows of one existing table locked by a migration, and for how long."""

    table: str
    rows: int
    held_ms: float
    statement: int  # index of the first statement that locked them
    operation: int | None
    statements: int = 1  # statements whose rows were added up (a row changed twice counts twice)
    verb: str = "UPDATE"  # what locked them: UPDATE, DELETE, SELECT ... FOR UPDATE; several joined by /


def locked_tables(sql: str) -> list[tuple[str, str]]:
    """(table, verb) for each table whose rows `sql` locks until its transaction ends."""
    found: list[tuple[str, str]] = []
    for statement in parse(with_parameters(sql)):
        node = statement.node
        if isinstance(node, ast.UpdateStmt):
            found.append((relation_name(node.relation) or "", "UPDATE"))
        elif isinstance(node, ast.DeleteStmt):
            found.append((relation_name(node.relation) or "", "DELETE"))
        elif isinstance(node, ast.SelectStmt) and node.lockingClause:
            for clause in node.lockingClause:
                if clause.strength not in ROW_LOCKING:
                    continue
                verb = "SELECT ... FOR " + clause.strength.name.removeprefix("LCS_FOR").replace("NOKEY", "NO KEY ")
                relations = clause.lockedRels or [r for r in node.fromClause or () if isinstance(r, ast.RangeVar)]
                found += [(relation_name(r) or "", verb) for r in relations]
    return [(table, verb) for table, verb in found if table]


def row_holds(
    statements: Sequence[Recorded], atomic: bool, duration_ms: float | None, locks: Iterable[Lock] = ()
) -> list[RowHold]:
    """Row locks on existing tables: per table in an atomic migration, per statement otherwise.

    In a transaction every row lock lasts from its statement to the commit (the end of the
    migration), so one table's rows add up and the hold starts at the first of them.
    Without one each statement commits on its own: its rows are locked while it runs
    (a run of repeats folded into one entry: one execution's share of rows and time).
    Tables created in the plan are left out, and so are rows of a table whose writes a
    table lock (`locks`, as captured) blocked at least as long: that lock says it all.
    """
    if duration_ms is None:
        return []
    locks = list(locks)
    new = {lock.relation for lock in locks if lock.new_in_plan}
    holds: dict[str, RowHold] = {}
    separate: list[RowHold] = []
    for index, statement in enumerate(statements):
        if statement.internal or not statement.rows or statement.rows <= 0:
            continue
        for table, verb in locked_tables(statement.sql):
            if _bare(table) in new:
                continue
            if not atomic:
                count = max(statement.count, 1)
                rows = -(-statement.rows // count)
                separate.append(
                    RowHold(table, rows, statement.duration_ms / count, index, statement.operation, 1, verb)
                )
                continue
            earlier = holds.get(table)
            if earlier is None:
                held = duration_ms - statement.started_ms
                holds[table] = RowHold(table, statement.rows, held, index, statement.operation, 1, verb)
            else:
                holds[table] = RowHold(
                    table,
                    earlier.rows + statement.rows,
                    earlier.held_ms,
                    earlier.statement,
                    earlier.operation,
                    earlier.statements + 1,
                    earlier.verb if verb in earlier.verb.split("/") else f"{earlier.verb}/{verb}",
                )
    longest: dict[str, RowHold] = holds
    for hold in separate:
        if hold.table not in longest or hold.held_ms > longest[hold.table].held_ms:
            longest[hold.table] = hold
    return [hold for hold in longest.values() if not _covered(hold, locks)]


def _covered(hold: RowHold, locks: list[Lock]) -> bool:
    """A table lock blocked every write to the table at least as long as its rows were held."""
    return any(
        lock.relation == _bare(hold.table) and lock.blocks_writes and lock.held_ms >= hold.held_ms for lock in locks
    )


def _bare(table: str) -> str:
    """The table's name as pg_locks' relname (measured.Lock.relation) has it, without its schema."""
    return table.rpartition(".")[2]
