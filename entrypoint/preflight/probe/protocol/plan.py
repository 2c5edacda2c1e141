"""The plan answer: the migration graph, what is applied, the pending plan in order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from preflight.probe.protocol.reader import Reader, answer, string_of, strings_of


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
    def read(cls, r: Reader) -> Self:
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
    def read(cls, r: Reader) -> Self:
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
    def read(cls, r: Reader) -> Self:
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
    def read(cls, r: Reader, _: str = "") -> Self:
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
    def read(cls, r: Reader) -> Self:
        apps = {
            app: AppChanges.read(Reader(r.verb, value, r.path(app))) for app, value in r.data.items() if app != "_error"
        }
        return cls(apps, r.strings("_error", required=False))


@dataclass(frozen=True)
class GraphHealth:
    """Applied migrations the code lacks, and squashes only partly applied."""

    applied_not_in_code: tuple[str, ...] = ()
    partially_applied_squashes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def read(cls, r: Reader) -> Self:
        return cls(
            r.strings("applied_not_in_code", required=False),
            r.mapping("partially_applied_squashes", strings_of, required=False),
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
        r = answer("plan", data)
        return cls(
            pending=r.objects("pending", PendingMigration.read),
            rollback=r.mapping("rollback", string_of),
            conflicts=r.mapping("conflicts", strings_of),
            nodes=r.objects("nodes", GraphNode.read),
            applied=r.keys("applied"),
            leaves=r.mapping("leaves", strings_of),
            unmigrated_apps=r.strings("unmigrated_apps"),
            missing_migrations=MissingMigrations.read(r.child("missing_migrations")),
            health=GraphHealth.read(r.child("health")),
            lock_timeout_setting=r.req("lock_timeout_setting", str, type(None)),
            can_rollback_ddl=r.req("can_rollback_ddl", bool),
            has_migrations_table=r.req("has_migrations_table", bool),
            django=r.opt("_django", str),
            python=r.opt("_python", str),
        )
