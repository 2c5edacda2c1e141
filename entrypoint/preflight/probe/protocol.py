"""The probe's answers as the host reads them: versioned records, parsed once at the edge.

The probe (probe.py, in the project's interpreter) answers each verb with one JSON object.
`PlanAnswer`, `SqlAnswer`, `ApplyAnswer` and `RoundTripAnswer` each `parse` one answer: every
key the probe always writes must be there with its type, and an answer that names another
protocol version is refused, with one line saying so (ProjectError, exit 3). Keys this host
does not know are ignored, so the probe can add some within a version. Past `parse` nothing
in the pipeline reads a raw dict.

Pure: no I/O. The records are frozen; sequences are tuples.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Self, TypeVar

from preflight.errors import ProjectError

PROTOCOL_VERSION = 2  # bump with the child's _preflight_probe.PROTOCOL on an incompatible change
PROTOCOL = f"preflight-probe/{PROTOCOL_VERSION}"  # what every message of the session carries

T = TypeVar("T")

_NUMBER = (int, float)


class _Reader:
    """One JSON object of an answer: each key read with its type checked, its path named on error."""

    def __init__(self, verb: str, data: object, where: str) -> None:
        if not isinstance(data, dict):
            raise malformed(verb, f"{where or 'the answer'} is {_kind(data)}, not an object")
        self.verb, self.data, self.where = verb, data, where

    def path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def req(self, key: str, *kinds: type) -> Any:
        """The value under `key`, which must be there (None only when NoneType is among `kinds`)."""
        if key not in self.data:
            raise malformed(self.verb, f"it lacks {self.path(key)}")
        return self._checked(key, self.data[key], kinds)

    def opt(self, key: str, *kinds: type, default: Any = None) -> Any:
        """The value under `key`, or `default` when it is missing or null."""
        value = self.data.get(key)
        return default if value is None else self._checked(key, value, kinds)

    def _checked(self, key: str, value: Any, kinds: tuple[type, ...]) -> Any:
        # Exact types, as json.loads makes them: true is no integer here, an integer is a number.
        kind = type(value)
        if kind in kinds:
            return value
        if kind is int and float in kinds:
            return float(value)
        wanted = " or ".join("null" if kind is type(None) else _NAMES.get(kind, kind.__name__) for kind in kinds)
        raise malformed(self.verb, f"{self.path(key)} is {_kind(value)}, not {wanted}")

    def child(self, key: str) -> _Reader:
        return _Reader(self.verb, self.req(key, dict), self.path(key))

    def objects(self, key: str, read: Callable[[_Reader], T], *, required: bool = True) -> tuple[T, ...]:
        """Each object of the list under `key`, read by `read` (a missing or null optional list: none)."""
        values = self.req(key, list) if required else self.opt(key, list, default=[])
        return tuple(read(_Reader(self.verb, value, f"{self.path(key)}[{i}]")) for i, value in enumerate(values))

    def strings(self, key: str, *, required: bool = True) -> tuple[str, ...]:
        values = self.req(key, list) if required else self.opt(key, list, default=[])
        return tuple(self._item(key, i, value, str) for i, value in enumerate(values))

    def keys(self, key: str, *, required: bool = True) -> tuple[tuple[str, str], ...]:
        """A list of [app, name] pairs."""
        values = self.req(key, list) if required else self.opt(key, list, default=[])
        pairs = []
        for i, value in enumerate(values):
            if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
                raise malformed(self.verb, f"{self.path(key)}[{i}] is {_kind(value)}, not an [app, name] pair")
            pairs.append((value[0], value[1]))
        return tuple(pairs)

    def mapping(self, key: str, read: Callable[[_Reader, str], T], *, required: bool = True) -> dict[str, T]:
        """Each value of the object under `key`, read by `read(reader of that object, its key)`."""
        values = self.req(key, dict) if required else self.opt(key, dict, default={})
        inner = _Reader(self.verb, values, self.path(key))
        return {name: read(inner, name) for name in values}

    def string_lists(self, key: str) -> tuple[tuple[str, ...], ...]:
        """A list of lists of strings."""
        values = self.req(key, list)
        inner = _Reader(self.verb, {str(i): value for i, value in enumerate(values)}, self.path(key))
        return tuple(inner.strings(str(i)) for i in range(len(values)))

    def _item(self, key: str, index: int, value: Any, kind: type) -> Any:
        if not isinstance(value, kind):
            raise malformed(self.verb, f"{self.path(key)}[{index}] is {_kind(value)}, not {_NAMES.get(kind)}")
        return value


_NAMES: dict[type, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "an object",
}


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    return _NAMES.get(type(value), type(value).__name__)


def malformed(verb: str, what: str) -> ProjectError:
    """The one-line error for an answer the host cannot read."""
    return ProjectError(
        f"the probe's {verb} answer is malformed: {what}",
        "this looks like a bug in Preflight's probe: please report it",
    )


def _answer(verb: str, data: object) -> _Reader:
    """Check the answer's protocol version (when it names one) and return its reader."""
    reader = _Reader(verb, data, "")
    version = reader.data.get("protocol", PROTOCOL_VERSION)
    if version != PROTOCOL_VERSION:
        raise ProjectError(
            f"the probe's {verb} answer speaks protocol {json.dumps(version, default=str)[:20]}, "
            f"this Preflight reads {PROTOCOL_VERSION}",
            "run the probe that ships with this Preflight (reinstall Preflight)",
        )
    return reader


def _strings_of(reader: _Reader, key: str) -> tuple[str, ...]:
    return reader.strings(key)


def _string_of(reader: _Reader, key: str) -> str:
    value: str = reader.req(key, str)
    return value


# -- plan ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OperationRef:
    """One operation of a pending migration; the Django operation behind a statement (None for plain SQL files)."""

    index: int
    type: str
    describe: str
    line: int | None
    end_line: int | None
    reversible: bool
    elidable: bool = False

    @classmethod
    def read(cls, r: _Reader) -> Self:
        return cls(
            r.req("index", int),
            r.req("type", str),
            r.req("describe", str),
            r.req("line", int, type(None)),
            r.opt("end_line", int),
            r.req("reversible", bool),
            r.opt("elidable", bool, default=False),
        )


@dataclass(frozen=True)
class PendingMigration:
    """A migration the plan will apply, as its file declares it."""

    app: str
    name: str
    file: str | None  # relative to the project (or to the sys.path entry of its package); never absolute
    atomic: bool
    reversible: bool
    operations: tuple[OperationRef, ...]
    elidable: bool = False
    initial: bool = False
    replaces: tuple[tuple[str, str], ...] = ()
    dependencies: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        return f"{self.app}.{self.name}"

    @classmethod
    def read(cls, r: _Reader) -> Self:
        return cls(
            app=r.req("app", str),
            name=r.req("name", str),
            file=r.req("file", str, type(None)),
            atomic=r.req("atomic", bool),
            reversible=r.req("reversible", bool),
            operations=r.objects("operations", OperationRef.read),
            elidable=r.opt("elidable", bool, default=False),
            initial=r.opt("initial", bool, default=False),
            replaces=r.keys("replaces", required=False),
            dependencies=r.keys("dependencies", required=False),
        )


@dataclass(frozen=True)
class GraphNode:
    app: str
    name: str
    parents: tuple[tuple[str, str], ...]

    @classmethod
    def read(cls, r: _Reader) -> Self:
        return cls(r.req("app", str), r.req("name", str), r.keys("parents"))


@dataclass(frozen=True)
class AppChanges:
    """One app's model changes that `makemigrations --check` would write, and where they are."""

    changes: tuple[str, ...]
    notes: tuple[str, ...] = ()  # what makemigrations --noinput would say (it stops where it would ask)
    file: str | None = None  # the first changed model's file, for an app in the project
    line: int | None = None
    package: str | None = None  # the installed distribution, for an app outside the project
    version: str | None = None

    @classmethod
    def read(cls, r: _Reader, _: str = "") -> Self:
        return cls(
            r.strings("changes"),
            r.strings("notes", required=False),
            r.opt("file", str),
            r.opt("line", int),
            r.opt("package", str),
            r.opt("version", str),
        )


@dataclass(frozen=True)
class MissingMigrations:
    """What `makemigrations --check --dry-run` finds, per app; or why the detector failed."""

    apps: Mapping[str, AppChanges] = field(default_factory=dict)
    errors: tuple[str, ...] = ()  # the autodetector raised: "Type: message"

    @classmethod
    def read(cls, r: _Reader) -> Self:
        apps = {
            app: AppChanges.read(_Reader(r.verb, value, r.path(app)))
            for app, value in r.data.items()
            if app != "_error"
        }
        return cls(apps, r.strings("_error", required=False))


@dataclass(frozen=True)
class GraphHealth:
    """Applied migrations the code lacks, and squashes only partly applied."""

    applied_not_in_code: tuple[str, ...] = ()
    partially_applied_squashes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def read(cls, r: _Reader) -> Self:
        return cls(
            r.strings("applied_not_in_code", required=False),
            r.mapping("partially_applied_squashes", _strings_of, required=False),
        )


@dataclass(frozen=True)
class PlanAnswer:
    """The migration graph, what is applied, and the pending plan in the order `migrate` runs it."""

    pending: tuple[PendingMigration, ...]
    rollback: Mapping[str, str]  # app -> the migration to go back to (or "zero")
    conflicts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # app -> its leaves, when several
    nodes: tuple[GraphNode, ...] = ()
    applied: tuple[tuple[str, str], ...] = ()
    leaves: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    unmigrated_apps: tuple[str, ...] = ()
    missing_migrations: MissingMigrations = field(default_factory=MissingMigrations)
    health: GraphHealth = field(default_factory=GraphHealth)
    lock_timeout_setting: str | None = None  # lock_timeout set through DATABASES OPTIONS
    can_rollback_ddl: bool = True
    has_migrations_table: bool | None = None  # False: an empty database, or not this project's
    django: str | None = None  # versions in the project's interpreter
    python: str | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        r = _answer("plan", data)
        return cls(
            pending=r.objects("pending", PendingMigration.read),
            rollback=r.mapping("rollback", _string_of),
            conflicts=r.mapping("conflicts", _strings_of),
            nodes=r.objects("nodes", GraphNode.read),
            applied=r.keys("applied"),
            leaves=r.mapping("leaves", _strings_of),
            unmigrated_apps=r.strings("unmigrated_apps"),
            missing_migrations=MissingMigrations.read(r.child("missing_migrations")),
            health=GraphHealth.read(r.child("health")),
            lock_timeout_setting=r.req("lock_timeout_setting", str, type(None)),
            can_rollback_ddl=r.req("can_rollback_ddl", bool),
            has_migrations_table=r.req("has_migrations_table", bool),
            django=r.opt("_django", str),
            python=r.opt("_python", str),
        )


# -- sql ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeferredSql:
    """SQL the schema editor ran at the end of the migration, for the operation that queued it."""

    operation: int
    statements: tuple[str, ...]

    @classmethod
    def read(cls, r: _Reader) -> Self:
        return cls(r.req("operation", int), r.strings("statements"))


@dataclass(frozen=True)
class CollectedSql:
    """What `sqlmigrate [--backwards]` prints for one migration, and its statements by operation."""

    statements: tuple[str, ...]
    text: str | None  # exactly sqlmigrate's output; None when it cannot produce it (see error)
    by_operation: tuple[tuple[str, ...], ...] | None = None  # None: not split by operation
    deferred: tuple[DeferredSql, ...] = ()
    error: str | None = None
    after_forwards: bool = False  # collected by the round trip, where the reverse really runs

    @classmethod
    def read(cls, r: _Reader) -> Self:
        return cls(
            statements=r.strings("statements"),
            text=r.req("text", str, type(None)),
            by_operation=r.string_lists("by_operation") if r.has("by_operation") else None,
            deferred=r.objects("deferred", DeferredSql.read, required=False),
            error=r.opt("error", str),
            after_forwards=r.opt("after_forwards", bool, default=False),
        )


@dataclass(frozen=True)
class MigrationSql:
    app: str
    name: str
    forwards: CollectedSql
    backwards: CollectedSql

    @classmethod
    def read(cls, r: _Reader) -> Self:
        return cls(
            r.req("app", str),
            r.req("name", str),
            CollectedSql.read(r.child("forwards")),
            CollectedSql.read(r.child("backwards")),
        )


@dataclass(frozen=True)
class SqlAnswer:
    """Forwards and backwards SQL of every pending migration, as `sqlmigrate` prints it."""

    migrations: tuple[MigrationSql, ...]

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(_answer("sql", data).objects("migrations", MigrationSql.read))

    def of(self, app: str, name: str) -> MigrationSql:
        """The SQL of one migration (KeyError: the probe collected none for it)."""
        return self._by_key[(app, name)]

    @cached_property
    def _by_key(self) -> dict[tuple[str, str], MigrationSql]:
        return {(m.app, m.name): m for m in self.migrations}

    def with_backwards(self, collected: tuple[BackwardsSql, ...]) -> SqlAnswer:
        """This SQL with the backwards SQL the round trip collected right before each migration went back.

        Collected before the plan, the schema editor reads a catalog the forwards have not
        changed yet (a unique constraint to drop is not there): a rollback runs it after them.
        """
        fresh = {(entry.app, entry.name): entry.sql for entry in collected}
        return SqlAnswer(
            tuple(
                replace(m, backwards=replace(fresh[(m.app, m.name)], after_forwards=True))
                if (m.app, m.name) in fresh
                else m
                for m in self.migrations
            )
        )


# -- apply --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CapturedLock:
    """A relation lock a migration held on the copy, from the statement that took it."""

    relation: str
    mode: str
    held_ms: float
    statement: int  # index in the migration's statements
    operation: int | None = None
    new_in_plan: bool = False
    kind: str = "r"

    @classmethod
    def read(cls, r: _Reader) -> Self:
        return cls(
            r.req("relation", str),
            r.req("mode", str),
            r.req("held_ms", float),
            r.req("statement", int),
            r.opt("operation", int),
            r.opt("new_in_plan", bool, default=False),
            r.opt("kind", str, default="r"),
        )


@dataclass(frozen=True)
class CapturedRewrite:
    """A table or index whose file a statement rewrote (its relfilenode changed)."""

    relation: str
    kind: str  # table | index
    before_bytes: int | None
    after_bytes: int | None
    statement: int
    operation: int | None = None
    new_in_plan: bool = False

    @classmethod
    def read(cls, r: _Reader) -> Self:
        return cls(
            r.req("relation", str),
            r.req("kind", str),
            r.opt("before_bytes", int),
            r.opt("after_bytes", int),
            r.req("statement", int),
            r.opt("operation", int),
            r.opt("new_in_plan", bool, default=False),
        )


@dataclass(frozen=True)
class ExecutedStatement:
    """One distinct statement executed on the copy, its repeats in the migration folded in."""

    sql: str
    duration_ms: float  # all executions together
    rows: int | None  # cursor.rowcount of all executions together; None on an error
    count: int = 1
    params: int = 0
    internal: bool = False  # Django's bookkeeping and introspection
    error: str | None = None
    started_ms: float = 0.0  # the first execution, from the start of its migration
    operation: int | None = None
    max_ms: float | None = None  # the longest execution

    @classmethod
    def read(cls, r: _Reader) -> Self:
        return cls(
            sql=r.req("sql", str),
            duration_ms=r.req("duration_ms", float),
            rows=r.req("rows", int, type(None)),
            count=r.req("count", int),
            params=r.req("params", int),
            internal=r.req("internal", bool),
            error=r.req("error", str, type(None)),
            started_ms=r.opt("started_ms", float, default=0.0),
            operation=r.opt("operation", int),
            max_ms=r.opt("max_ms", float),
        )


@dataclass(frozen=True)
class AppliedMigration:
    """One pending migration as `apply` ran it (or did not: status not_run after a failure)."""

    app: str
    name: str
    atomic: bool
    status: str  # applied | failed | not_run
    duration_ms: float | None
    statements: tuple[ExecutedStatement, ...] = ()
    statements_omitted: int = 0  # distinct statements past the probe's limit, counted not listed
    omitted_executions: int = 0
    omitted_ms: float = 0.0
    locks: tuple[CapturedLock, ...] = ()
    rewrites: tuple[CapturedRewrite, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.app}.{self.name}"

    @classmethod
    def read(cls, r: _Reader) -> Self:
        status = r.req("status", str)
        if status not in ("applied", "failed", "not_run"):
            raise malformed(r.verb, f"{r.path('status')} is not applied, failed or not_run")
        return cls(
            app=r.req("app", str),
            name=r.req("name", str),
            atomic=r.req("atomic", bool),
            status=status,
            duration_ms=r.req("duration_ms", float, type(None)),
            statements=r.objects("statements", ExecutedStatement.read),
            statements_omitted=r.opt("statements_omitted", int, default=0),
            omitted_executions=r.opt("omitted_executions", int, default=0),
            omitted_ms=r.opt("omitted_ms", float, default=0.0),
            # A migration that did not run has no locks to list.
            locks=r.objects("locks", CapturedLock.read, required=status != "not_run"),
            rewrites=r.objects("rewrites", CapturedRewrite.read, required=status != "not_run"),
        )


@dataclass(frozen=True)
class Frame:
    """A traceback frame: the file as a reader should see it (never this machine's layout)."""

    file: str
    line: int | None

    @classmethod
    def read(cls, r: _Reader) -> Self:
        return cls(r.req("file", str), r.opt("line", int))


@dataclass(frozen=True)
class ApplyFailure:
    """Why a migration failed on the copy (row values PostgreSQL quotes already removed)."""

    migration: str  # app.name
    error: str  # "Type: message"
    type: str
    frame: Frame | None = None  # the innermost frame
    user_frame: Frame | None = None  # the innermost frame in the project's own code
    sqlstate: str | None = None
    statement: str | None = None
    partially_applied: bool = False  # a non-atomic migration left earlier statements applied
    operation: OperationRef | None = None  # the operation that raised

    @classmethod
    def read(cls, r: _Reader) -> Self:
        return cls(
            migration=r.req("migration", str),
            error=r.req("error", str),
            type=r.req("type", str),
            frame=Frame.read(r.child("frame")) if r.has("frame") else None,
            user_frame=Frame.read(r.child("user_frame")) if r.has("user_frame") else None,
            sqlstate=r.opt("sqlstate", str),
            statement=r.opt("statement", str),
            partially_applied=r.opt("partially_applied", bool, default=False),
            operation=OperationRef.read(r.child("operation")) if r.has("operation") else None,
        )


@dataclass(frozen=True)
class PostMigrate:
    """Sending post_migrate after the plan, as `migrate` does."""

    duration_ms: float
    statements: int

    @classmethod
    def read(cls, r: _Reader) -> Self:
        return cls(r.req("duration_ms", float), r.req("statements", int))


@dataclass(frozen=True)
class ApplyAnswer:
    """The pending migrations applied one at a time, every statement recorded; stopped at the first failure."""

    migrations: tuple[AppliedMigration, ...]
    failure: ApplyFailure | None = None
    post_migrate: PostMigrate | None = None
    lock_timeout_ms: int | None = None  # --lock-timeout, for every statement
    captured: bool = False  # locks and rewrites were read after each statement

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        r = _answer("apply", data)
        r.req("failure", dict, type(None))
        r.req("post_migrate", dict, type(None))
        return cls(
            migrations=r.objects("migrations", AppliedMigration.read),
            failure=ApplyFailure.read(r.child("failure")) if r.has("failure") else None,
            post_migrate=PostMigrate.read(r.child("post_migrate")) if r.has("post_migrate") else None,
            lock_timeout_ms=r.req("lock_timeout_ms", int, type(None)),
            captured=r.req("captured", bool),
        )


# -- round trip ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StepAnswer:
    """One direction of the round trip: migrating back, or forward again."""

    status: str  # ok | irreversible | failed
    migrations: int
    duration_ms: float
    migration: str | None = None  # where it stopped
    error: str | None = None
    sqlstate: str | None = None

    @classmethod
    def read(cls, r: _Reader) -> Self:
        return cls(
            r.req("status", str),
            r.req("migrations", int),
            r.req("duration_ms", float),
            r.opt("migration", str),
            r.opt("error", str),
            r.opt("sqlstate", str),
        )


@dataclass(frozen=True)
class BackwardsSql:
    """A migration's backwards SQL, collected right before the round trip took it back."""

    app: str
    name: str
    sql: CollectedSql

    @classmethod
    def read(cls, r: _Reader) -> Self:
        return cls(r.req("app", str), r.req("name", str), CollectedSql.read(r))


@dataclass(frozen=True)
class RoundTripAnswer:
    """Back to where the plan started, then forward again (not when going back failed)."""

    backward: StepAnswer
    forward: StepAnswer | None = None
    backwards_sql: tuple[BackwardsSql, ...] = ()

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        r = _answer("roundtrip", data)
        r.req("forward", dict, type(None))
        return cls(
            backward=StepAnswer.read(r.child("backward")),
            forward=StepAnswer.read(r.child("forward")) if r.has("forward") else None,
            backwards_sql=r.objects("backwards_sql", BackwardsSql.read),
        )
