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

from collections import OrderedDict
from typing import Any, Callable

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
        self.came_from: Key | None = None  # the migration whose state after is the last before() returned

    def before(self, key: Key) -> Any:
        """Return the state before `key` (to read or clone; advance() moves it on)."""
        parents = [node.key for node in self.graph.node_map[key].parents]
        self.came_from = None
        for parent in parents:
            found = self.kept.get(parent)
            if found is not None and all(other in found[1] for other in parents):
                del self.kept[parent]
                self.current = (key, found[0], found[1])
                self.came_from = parent
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

    The state before and after each operation is computed once (Steps), for both
    directions. Where the forwards cannot use them (Steps.forwards_ready) or either
    direction fails, that direction runs as sqlmigrate runs it: Migration.unapply on
    clones of `state`, Migration.apply on `state` itself (which moves it past the
    migration, as the executor does). The state after is None when the forwards failed
    half way through.
    """
    steps = Steps.of(migration, state)
    backwards = collected_backwards(migration, state, connection, steps)
    if backwards.get("error"):
        steps = None  # not reused after a failure part way through
    if steps is not None and steps.forwards_ready():
        forwards = collected_sql(migration, state, False, connection, steps=steps)
        if not forwards.get("error"):
            return forwards, backwards, steps.after(state)
    forwards = collected_sql(migration, state, False, connection, in_place=True)
    if forwards.get("error") or any(not op.reduces_to_sql and not _runs_python(op) for op in migration.operations):
        # apply(collect_sql=True) skips an operation that does not reduce to SQL, its
        # state change too: the state is not the one after the migration.
        return forwards, backwards, None
    return forwards, backwards, state


def collected_backwards(migration: Any, state: Any, connection: Any, steps: Steps | None) -> Detail:
    """`sqlmigrate --backwards` of `migration` from `state`, through `steps` if given (Django's own on failure)."""
    if steps is not None:
        backwards = collected_sql(migration, state, True, connection, steps=steps)
        if not backwards.get("error"):
            return backwards
    return collected_sql(migration, state, True, connection)


def _runs_python(operation: Any) -> bool:
    """Whether `operation` is a plain RunPython, whose state_forwards changes nothing."""
    from django.db.migrations.operations import RunPython

    return type(operation) is RunPython


def _djangos_own(migration: Any) -> bool:
    """Whether `migration` applies and unapplies as Django's Migration does (no override of its own)."""
    from django.db.migrations.migration import Migration

    return type(migration).unapply is Migration.unapply and type(migration).apply is Migration.apply


class Steps:
    """The state before and after each operation of a migration, as Migration.unapply computes them.

    Moving the state past an operation re-renders the models related to the one it
    changes, which is most of the cost of the SQL: `of()` does it once per operation
    (unapply's first phase, on clones), and `backwards(editor)` and `forwards(editor)`
    then do what Migration.unapply and Migration.apply do with collect_sql=True, from
    those states instead of computing them again. Either raises where Django would; the
    caller then asks Django itself, for its own error.
    """

    def __init__(self, migration: Any, steps: list[tuple[Any, Any, Any]]) -> None:
        self.migration = migration
        self.steps = steps  # (operation, state before it, state after it), in order

    @classmethod
    def of(cls, migration: Any, state: Any) -> Steps | None:
        """Move clones of `state` through `migration`; None where unapply is not Django's or would refuse.

        `state` itself is left as it is.
        """
        operations = list(migration.operations)
        if not _djangos_own(migration):
            return None  # a project's Migration class of its own: let it run its code
        if not all(operation.reversible for operation in operations):
            return None  # unapply raises IrreversibleError first: let it say so
        steps = []
        new_state = state
        try:
            for operation in operations:  # Migration.unapply's phase 1
                new_state = new_state.clone()
                old_state = new_state.clone()
                operation.state_forwards(migration.app_label, new_state)
                steps.append((operation, old_state, new_state))
        except Exception:
            return None  # unapply fails the same way, with Django's words for it
        return cls(migration, steps)

    @classmethod
    def between(cls, migration: Any, before: Any, after: Any) -> Steps | None:
        """The one operation of `migration` from `before` to `after` (None where of() would refuse).

        `after` must be `before` moved through the migration (as States.advance moves it).
        """
        if not _djangos_own(migration):
            return None
        if len(migration.operations) != 1 or not migration.operations[0].reversible:
            return None
        return cls(migration, [(migration.operations[0], before, after)])

    def forwards_ready(self) -> bool:
        """Whether apply would go through the same states: each operation reduces to SQL or changes none.

        apply(collect_sql=True) skips an operation that does not reduce to SQL, state
        change and all, where unapply moves the state through it: only a plain RunPython
        changes nothing there.
        """
        return all(operation.reduces_to_sql or _runs_python(operation) for operation, _, _ in self.steps)

    def after(self, state: Any) -> Any:
        """The state after the migration (`state`, the one before, if it has no operations)."""
        return self.steps[-1][2] if self.steps else state

    def backwards(self, editor: Any) -> None:
        """What Migration.unapply(collect_sql=True) does after its phase 1."""
        for operation, before, after in reversed(self.steps):
            self._run(editor, operation, operation.database_backwards, after, before)

    def forwards(self, editor: Any) -> None:
        """What Migration.apply(collect_sql=True) does, from the states phase 1 computed."""
        for operation, before, after in self.steps:
            self._run(editor, operation, operation.database_forwards, before, after)

    def _run(self, editor: Any, operation: Any, method: Callable[..., Any], from_state: Any, to_state: Any) -> None:
        """One operation as apply and unapply collect it: a header, then its SQL or why there is none."""
        from django.db.transaction import atomic

        editor.collected_sql.append("--")
        editor.collected_sql.append(f"-- {operation.describe()}")
        editor.collected_sql.append("--")
        if not operation.reduces_to_sql:
            editor.collected_sql.append("-- THIS OPERATION CANNOT BE WRITTEN AS SQL")
            return
        collected_before = len(editor.collected_sql)
        atomic_operation = operation.atomic or (self.migration.atomic and operation.atomic is not False)
        if not editor.atomic_migration and atomic_operation:
            with atomic(editor.connection.alias):
                method(self.migration.app_label, editor, from_state, to_state)
        else:
            method(self.migration.app_label, editor, from_state, to_state)
        if collected_before == len(editor.collected_sql):
            editor.collected_sql.append("-- (no-op)")


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
    `steps`, either direction goes through the states it holds. The schema
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
                if steps is not None:
                    steps.backwards(editor)
                else:
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
