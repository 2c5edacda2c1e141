from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pglast import ast

from preflight.evidence.measured import BLOCKS, BLOCKS_WRITES, MigrationRun, mode_name
from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.rules.locks import MODES, TableLock, sql_locks, strongest
from preflight.sql.nodes import function_names, indexes_created, indexes_dropped, walk
from preflight.sql.params import with_parameters
from preflight.sql.parse import parse, relation_name


@dataclass(frozen=True)
class Queued:
    """The first statement whose lock would make other sessions queue if it had to wait."""

    statement: int
    operation: int | None
    lock: TableLock
    measured: bool
    others: tuple[str, ...] = ()  # the statement's other tables whose writes it blocks, biggest first


class NoLockTimeout(Rule):
    """A statement that takes a lock others queue behind runs without a lock_timeout.

    Why is this bad?
        A statement that waits for a lock (behind a long query or an idle transaction)
        makes every later query that conflicts with it queue behind it: minutes of outage
        from a one-millisecond change. That is the case for locks that block writes
        (SHARE and stronger: most ALTER TABLE forms, CREATE INDEX, DROP, TRUNCATE), not
        for the row locks of SELECT, INSERT, UPDATE or DELETE, nor for CREATE INDEX
        CONCURRENTLY (SHARE UPDATE EXCLUSIVE lets reads and writes go on). Checked for
        every statement, Django's own DDL included (an AddField on a busy table queues
        its readers as surely as a RunSQL does), with the locks measured on the copy when
        there are any (or capture was on and saw none), else the locks the SQL takes (a
        DROP INDEX's on the index's table; none for DROP INDEX IF EXISTS of an index that
        is not there); reported once per migration, at the first such statement on a
        table that existed before the plan (naming the biggest table it locks, then the
        others), when neither the project's database OPTIONS, the target's own setting
        nor the SQL itself sets lock_timeout.

    Example:
        migrations.AddField("order", "note", models.TextField(null=True))  # ALTER TABLE, ACCESS EXCLUSIVE

    Use instead:
        Run migrate with a lock_timeout (Django: DATABASES OPTIONS
        {"options": "-c lock_timeout=5s"} for the migrating settings), or start the SQL
        with SET LOCAL lock_timeout = '5s' in an atomic migration; in a non-atomic one
        use the session-level SET lock_timeout = '5s' (SET LOCAL does nothing outside a
        transaction). Retry on timeout.
    """

    code = "LK216"
    name = "no-lock-timeout"
    category = Category.LOCKING
    severity = Severity.WARNING
    folds = False  # the lock queue is not the hazard a static finding on the statement describes

    def check_run(self, run: MigrationRun, context: Context) -> Iterator[Finding]:
        if context.facts.lock_timeout_ms:
            return
        operations = {op.index: op for op in run.operations}
        local_only = _sets_lock_timeout(run)
        if local_only is False:
            return
        queued, unknown = _first_queued(run, context)
        if queued is None and unknown is None:
            return
        unset = " (unless the production role or database sets one)" if context.facts.lock_timeout_ms is None else ""
        fix = (
            "start the SQL with a session-level SET lock_timeout = '5s' (not SET LOCAL: a non-atomic migration "
            "has no transaction), or run migrate with OPTIONS {'options': '-c lock_timeout=5s'}"
            if not run.atomic
            else "run migrate with OPTIONS {'options': '-c lock_timeout=5s'}, or make the migration's first "
            "operation RunSQL(\"SET LOCAL lock_timeout = '5s'\", migrations.RunSQL.noop)"
        )
        ignored = "; its SET LOCAL lock_timeout does nothing outside a transaction" if local_only else ""
        if queued is not None:
            operation = operations.get(queued.operation) if queued.operation is not None else None
            what = f"{operation.type} " if operation else ""
            where = "in a non-atomic migration " if not run.atomic else ""
            notes = ["measured on the copy"] if queued.measured else []
            notes += [f"also locks {', '.join(queued.others)}"] if queued.others else []
            evidence = f" ({'; '.join(notes)})" if notes else ""
            lock = queued.lock
            mode = mode_name(lock.mode)
            yield self.finding(
                f"{what}{where}takes {'an' if mode.startswith('ACCESS') else 'a'} {mode} lock on "
                f"{lock.relation}{evidence}, which "
                f"{BLOCKS.get(lock.mode, lock.mode)}, without a lock_timeout{unset}{ignored}: if it waits behind a "
                f"long query or an idle transaction, every query on {lock.relation} queues behind it",
                fix,
                table=lock.relation,
                tables=[lock.relation, *queued.others],
                mode=lock.mode,
                measured=queued.measured,
                statement_index=queued.statement,
                operation_index=queued.operation,
            )
            return
        assert unknown is not None
        operation = operations.get(unknown[1]) if unknown[1] is not None else None
        what = f"{operation.type} " if operation else "a statement "
        yield self.finding(
            f"{what}runs SQL whose locks Preflight could not tell, without a lock_timeout{unset}{ignored}: "
            "if it takes a lock that blocks writes and has to wait, queries on that table queue behind it",
            fix,
            statement_index=unknown[0],
            operation_index=unknown[1],
        )


def _sets_lock_timeout(run: MigrationRun) -> bool | None:
    """False: the SQL sets lock_timeout; True: only with SET LOCAL outside a transaction; None: never."""
    local_only = None
    for sql in (executed.sql for executed in run.executed):
        for statement in parse(with_parameters(sql)):
            node = statement.node
            if isinstance(node, ast.VariableSetStmt) and node.name == "lock_timeout":
                if node.is_local and not run.atomic:
                    local_only = True
                    continue
                return False
            if node is None and "lock_timeout" in sql:
                return False  # e.g. set_config('lock_timeout', ...) in code Preflight cannot read
            if "set_config" in function_names(node) and any(
                isinstance(child, ast.String) and child.sval == "lock_timeout" for child in walk(node)
            ):
                return False  # SELECT set_config('lock_timeout', ...)
    return local_only


def _first_queued(run: MigrationRun, context: Context) -> tuple[Queued | None, tuple[int, int | None] | None]:
    """The first statement in scope whose lock queues others, else the first whose locks are unknown."""
    # In a transaction every lock is held, and read on the copy, until the commit; outside
    # one, locks are gone when the copy is read, so the SQL says which it took. With capture
    # on, an atomic migration that applied and shows no lock took none (e.g. DROP INDEX IF
    # EXISTS of an index that is not there).
    measured = run.atomic and ((run.captured and run.status == "applied") or bool(run.locks))
    created: set[str] = set()
    created_indexes: dict[str, str] = {}
    unknown: tuple[int, int | None] | None = None
    for index, executed in enumerate(run.executed):
        sql, operation = executed.sql, executed.operation
        if measured:
            taken: list[TableLock] | None = [
                TableLock(lock.relation, lock.mode)
                for lock in run.locks
                if lock.statement == index and not lock.new_in_plan
            ]
        else:
            taken = sql_locks(sql)
            for statement in parse(with_parameters(sql)):
                node = statement.node
                if isinstance(node, ast.CreateStmt):
                    created.add(relation_name(node.relation) or "")
                if taken is not None:
                    taken = _on_tables(taken, node, context, created_indexes)
                created_indexes.update({name: owner for owner, name, _ in indexes_created(node) if name})
        if taken is None:
            unknown = unknown or (index, operation)
            continue
        queuing: dict[str, str] = {}  # table -> the strongest write-blocking mode the statement takes on it
        for lock in taken:
            if lock.mode in BLOCKS_WRITES and lock.relation not in created and not context.is_new(lock.relation):
                queuing[lock.relation] = strongest(queuing.get(lock.relation, lock.mode), lock.mode)
        if queuing:
            # The biggest table first (the one most likely busy), then the strongest lock.
            order = sorted(queuing, key=lambda t: (-(context.rows(t) or -1), -MODES.index(queuing[t])))
            lock = TableLock(order[0], queuing[order[0]])
            return Queued(index, operation, lock, measured, tuple(order[1:])), None
    return None, unknown


def _on_tables(
    taken: list[TableLock], node: object, context: Context, created_indexes: dict[str, str]
) -> list[TableLock]:
    """Move a DROP INDEX's lock onto the index's table; drop it when the index does not exist."""
    dropped = {name for table, name, _ in indexes_dropped(node) if table is None}
    if not dropped:
        return taken
    moved = []
    for lock in taken:
        if lock.relation not in dropped:
            moved.append(lock)
            continue
        table = context.index_table(lock.relation) or created_indexes.get(lock.relation)
        if table is not None:
            moved.append(TableLock(table, lock.mode))
        elif not context.facts.catalog:
            moved.append(lock)  # nothing read: the index's name is all there is
        # else: not on the copy and not created by the plan: DROP INDEX IF EXISTS locks nothing
    return moved
