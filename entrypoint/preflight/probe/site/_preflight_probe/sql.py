"""Forwards and backwards SQL of the pending migrations, as `manage.py sqlmigrate` prints it.

`sqlmigrate` builds the project state before a migration from scratch, from all the
migrations it depends on (MigrationLoader.collect_sql -> project_state): asked once per
migration, that is quadratic in the length of the history. `States` walks the plan once
instead, carrying the state forward as MigrationExecutor does, and builds from scratch
only where the carried state would hold other migrations than the ones that migration
depends on (so the SQL stays byte-identical to sqlmigrate's).

Within a migration the state work is done once: `Migration.unapply` computes the state
before and after each operation (re-rendering the models related to the one changed,
which is most of the cost), and `Steps` keeps those states for the forwards, which
would otherwise compute the same states again.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from typing import Any, Callable, ContextManager

from _preflight_probe.errors import Detail, safe
from _preflight_probe.graph import Key, check_graph, load, parse_targets, pending_plan
from _preflight_probe.tracking import tracking_operations

Progress = Callable[..., None]
KEPT_STATES = 16  # states after a migration kept for a later one that follows it


class States:
    """The project state right before each migration, as `loader.project_state(key, at_end=False)`.

    Ask `before(key)` then `advance(key)` for each migration in plan order. The state
    after a migration is kept, with the set of migrations it holds; the next migration
    whose dependencies that set already holds starts from it (one mutation, not a
    rebuild). Otherwise the state is built from the migration's ancestors alone, as
    Django's graph.make_state does, in their forwards order.
    """

    def __init__(self, loader: Any) -> None:
        self.loader, self.graph = loader, loader.graph
        self.kept: OrderedDict[Key, tuple[Any, set[Key]]] = OrderedDict()
        self.current: tuple[Key, Any, set[Key]] | None = None

    def before(self, key: Key) -> Any:
        """Return the state before `key` (to read or clone; advance() moves it on)."""
        parents = [node.key for node in self.graph.node_map[key].parents]
        for parent in parents:
            found = self.kept.get(parent)
            if found is not None and all(other in found[1] for other in parents):
                del self.kept[parent]
                self.current = (key, found[0], found[1])
                return found[0]
        from django.db.migrations.state import ProjectState

        ancestors = self.graph.forwards_plan(key)[:-1]
        state = ProjectState(real_apps=self.loader.unmigrated_apps)
        for node in ancestors:
            state = self.graph.nodes[node].mutate_state(state, preserve=False)
        safe(lambda: state.apps)  # render once; later migrations reload only what they change
        self.current = (key, state, set(ancestors))
        return state

    def advance(self, key: Key, after: Any = None) -> None:
        """Move the state on past `key` (after before(key)) and keep it for what follows.

        `after`: the state past `key`, when the caller already has it (collecting the SQL
        computes it), so it is only kept.
        """
        assert self.current is not None and self.current[0] == key
        _, state, done = self.current
        self.current = None
        if after is not None:
            state = after
        else:
            try:
                state = self.graph.nodes[key].mutate_state(state, preserve=False)
            except Exception:
                return  # a state this migration cannot reach: whoever follows builds theirs afresh
        done.add(key)
        self.kept[key] = (state, done)
        while len(self.kept) > KEPT_STATES:
            self.kept.popitem(last=False)

    def drop(self, key: Key) -> None:
        """Forget the state before `key`: collecting its SQL failed half way through it."""
        assert self.current is not None and self.current[0] == key
        self.current = None


def verb_sql(request: Detail, connection: Any, progress: Progress) -> Detail:
    """SQL of every pending migration, forwards and backwards, in plan order."""
    from django.db.migrations.loader import MigrationLoader

    executor = load(connection)
    check_graph(executor, connection)
    plan = pending_plan(executor, parse_targets(executor, request.get("to")))
    # The loader sqlmigrate itself uses: squashed migrations are not swapped in.
    loader = MigrationLoader(connection, replace_migrations=False)
    states = States(loader)
    result = []
    for index, (planned, _) in enumerate(plan):
        progress("sql", k=index + 1, n=len(plan), migration=f"{planned.app_label}.{planned.name}")
        key = (planned.app_label, planned.name)
        migration = loader.graph.nodes[key]
        forwards, backwards, after = both_ways(migration, states.before(key), connection)
        if after is None:
            states.drop(key)
        else:
            states.advance(key, after=after)
        result.append(
            {"app": migration.app_label, "name": migration.name, "forwards": forwards, "backwards": backwards}
        )
    return {"migrations": result}


def both_ways(migration: Any, state: Any, connection: Any) -> tuple[Detail, Detail, Any]:
    """Return the forwards and backwards SQL of `migration` from `state`, and the state after it.

    The backwards run first, on clones of `state` (Migration.unapply); the forwards then
    reuse the states they computed. Where that is not known to give what Migration.apply
    gives (see Steps.complete), or fails, the forwards run as before: Migration.apply on
    `state` itself, which moves it past the migration, as the executor does. The state
    after is None when the forwards failed half way through.
    """
    steps = Steps(migration)
    backwards = collected_sql(migration, state, True, connection, steps=steps)
    if not backwards.get("error") and steps.complete():
        forwards = collected_sql(migration, state, False, connection, steps=steps)
        if not forwards.get("error"):
            return forwards, backwards, steps.after(state)
        # Django's own apply says why, in its words; `state` is still the state before.
    forwards = collected_sql(migration, state, False, connection, in_place=True)
    if forwards.get("error") or any(not op.reduces_to_sql and not _runs_python(op) for op in migration.operations):
        # apply(collect_sql=True) skips an operation that does not reduce to SQL, its
        # state change too: the state is not the one after the migration.
        return forwards, backwards, None
    return forwards, backwards, state


def _runs_python(operation: Any) -> bool:
    """Whether `operation` is a plain RunPython, whose state_forwards changes nothing."""
    from django.db.migrations.operations import RunPython

    return type(operation) is RunPython


class Steps:
    """The state before and after each operation, as Migration.unapply computes them.

    Used as a context manager around unapply, it keeps, by operation index, the state
    each operation's state_forwards moves (the state after it) and the state its
    database_backwards goes back to (the state before it). `forwards(editor)` then does
    what Migration.apply(collect_sql=True) does, with those states instead of computing
    them again.
    """

    def __init__(self, migration: Any) -> None:
        self.migration = migration
        self.before_op: dict[int, Any] = {}
        self.after_op: dict[int, Any] = {}
        self.saved: list[tuple[Any, str, Any]] = []

    def complete(self) -> bool:
        """Whether the forwards may use the kept states: nothing of apply's is overridden or skipped.

        apply and unapply are Django's own; no operation object appears twice; each
        operation reduces to SQL (apply skips the others' state changes, unapply does
        not) or is a plain RunPython (no state change); every state was kept.
        """
        from django.db.migrations.migration import Migration

        operations = list(self.migration.operations)
        if type(self.migration).apply is not Migration.apply or type(self.migration).unapply is not Migration.unapply:
            return False
        if len({id(op) for op in operations}) != len(operations):
            return False
        for index, operation in enumerate(operations):
            if index not in self.after_op:
                return False
            if operation.reduces_to_sql:
                if index not in self.before_op:
                    return False
            elif not _runs_python(operation):
                return False
        return True

    def after(self, state: Any) -> Any:
        """The state after the migration (`state`, the one before, if it has no operations)."""
        count = len(self.migration.operations)
        return self.after_op[count - 1] if count else state

    def __enter__(self) -> Steps:
        for index, operation in enumerate(self.migration.operations):
            state_forwards, database_backwards = operation.state_forwards, operation.database_backwards

            def forwards(app_label: str, state: Any, _index: int = index, _original: Any = state_forwards) -> Any:
                self.after_op[_index] = state  # unapply's phase 1 moves this clone, and keeps it
                return _original(app_label, state)

            def backwards(
                app_label: str,
                schema_editor: Any,
                from_state: Any,
                to_state: Any,
                _index: int = index,
                _original: Any = database_backwards,
            ) -> Any:
                self.before_op[_index] = to_state
                return _original(app_label, schema_editor, from_state, to_state)

            for name, wrapper in (("state_forwards", forwards), ("database_backwards", backwards)):
                self.saved.append((operation, name, operation.__dict__.get(name, _ABSENT)))
                setattr(operation, name, wrapper)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        for operation, name, previous in reversed(self.saved):
            if previous is _ABSENT:
                operation.__dict__.pop(name, None)
            else:
                setattr(operation, name, previous)
        self.saved = []

    def forwards(self, editor: Any) -> None:
        """What Migration.apply(collect_sql=True) does, from the states unapply computed."""
        from django.db.transaction import atomic

        migration = self.migration
        for index, operation in enumerate(migration.operations):
            editor.collected_sql.append("--")
            editor.collected_sql.append(f"-- {operation.describe()}")
            editor.collected_sql.append("--")
            if not operation.reduces_to_sql:
                editor.collected_sql.append("-- THIS OPERATION CANNOT BE WRITTEN AS SQL")
                continue
            collected_before = len(editor.collected_sql)
            old_state, new_state = self.before_op[index], self.after_op[index]
            atomic_operation = operation.atomic or (migration.atomic and operation.atomic is not False)
            if not editor.atomic_migration and atomic_operation:
                with atomic(editor.connection.alias):
                    operation.database_forwards(migration.app_label, editor, old_state, new_state)
            else:
                operation.database_forwards(migration.app_label, editor, old_state, new_state)
            if collected_before == len(editor.collected_sql):
                editor.collected_sql.append("-- (no-op)")


_ABSENT = object()


def collected_sql(
    migration: Any,
    state: Any,
    backwards: bool,
    connection: Any,
    in_place: bool = False,
    steps: Steps | None = None,
) -> Detail:
    """What `sqlmigrate [--backwards]` prints for `migration` with the database as it is now.

    `state` is the project state before the migration; it is left as it is, except that
    with `in_place` the forwards move it past the migration (as the executor does). With
    `steps`, the backwards keep their states in it and the forwards use them. The schema
    editor reads the catalog for some names (a unique constraint to drop, an index to
    rename): the SQL depends on when it is asked.
    """
    wrap = bool(migration.atomic and connection.features.can_rollback_ddl)
    deferred: list[tuple[int, int]] = []  # (position in the collected SQL, operation) of each deferred statement

    def mark(index: int, editor: Any, later: bool, marks: list[tuple[int, int]] = deferred) -> None:
        if later:
            marks.append((len(editor.collected_sql), index))

    try:
        # What MigrationLoader.collect_sql does for one migration, from the state given.
        with connection.schema_editor(collect_sql=True, atomic=migration.atomic) as editor:
            if backwards:
                keeping: ContextManager[Any] = steps if steps is not None else contextlib.nullcontext()
                with keeping:
                    migration.unapply(state, editor, collect_sql=True)  # works on clones of `state`
            else:
                with tracking_operations(migration, mark):
                    if steps is not None:
                        steps.forwards(editor)
                    else:
                        migration.apply(state if in_place else state.clone(), editor, collect_sql=True)
        statements = list(editor.collected_sql)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}", "statements": [], "text": None}
    groups, later = split_by_operation(statements, migration, deferred)
    return {
        "statements": statements,
        "text": sqlmigrate_text(statements, wrap, connection),
        "by_operation": groups,
        "deferred": later,
    }


def sqlmigrate_text(statements: list[str], wrap: bool, connection: Any) -> str:
    """Return exactly what `manage.py sqlmigrate` prints for these statements."""
    output = "\n".join(statements)
    if not output:
        return ""  # sqlmigrate prints "No operations found." to stderr, nothing to stdout
    if wrap:
        output = f"{connection.ops.start_transaction_sql()}\n{output}\n{connection.ops.end_transaction_sql()}"
    return output if output.endswith("\n") else output + "\n"


def split_by_operation(
    statements: list[str], migration: Any, deferred: list[tuple[int, int]]
) -> tuple[list[list[str]] | None, list[Detail] | None]:
    """Group collect_sql's statements by operation, using the headers it writes before each.

    For every operation Django's Migration.apply(collect_sql=True) appends "--",
    "-- <describe()>", "--" before that operation's SQL; we walk them in order. The
    schema editor's deferred SQL comes after the last operation's header: `deferred`
    holds (position in `statements`, operation index) where each deferred statement
    starts, and those statements are returned apart, in the order they run, as
    [{"operation": index, "statements": [...]}] (consecutive ones of the same operation
    together). Returns (groups, deferred groups), or (None, None) when the headers do
    not match the operations.
    """
    groups: list[list[str]] = []
    current: list[str] | None = None
    expected = [safe(op.describe, type(op).__name__) for op in migration.operations]
    marks = sorted(deferred)
    tail = marks[0][0] if marks else len(statements)
    index = 0
    while index < tail:
        if len(groups) < len(expected) and statements[index : index + 3] == ["--", "-- " + expected[len(groups)], "--"]:
            current = []
            groups.append(current)
            index += 3
            continue
        if current is not None:
            current.append(statements[index])
        index += 1
    if len(groups) != len(expected):
        return None, None
    later: list[Detail] = []
    for number, (start, operation) in enumerate(marks):
        end = marks[number + 1][0] if number + 1 < len(marks) else len(statements)
        if later and later[-1]["operation"] == operation:
            later[-1]["statements"] += statements[start:end]
        else:
            later.append({"operation": operation, "statements": statements[start:end]})
    return groups, later
