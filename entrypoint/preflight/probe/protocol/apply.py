"""The apply answer: every statement each migration ran on the copy, its locks and rewrites, the failure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from preflight.probe.protocol.plan import OperationRef
from preflight.probe.protocol.reader import Reader, answer, malformed


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
    def read(cls, r: Reader) -> Self:
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
    def read(cls, r: Reader) -> Self:
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
    def read(cls, r: Reader) -> Self:
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
    def read(cls, r: Reader) -> Self:
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
    def read(cls, r: Reader) -> Self:
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
    def read(cls, r: Reader) -> Self:
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
    def read(cls, r: Reader) -> Self:
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
        r = answer("apply", data)
        r.req("failure", dict, type(None))
        r.req("post_migrate", dict, type(None))
        return cls(
            migrations=r.objects("migrations", AppliedMigration.read),
            failure=ApplyFailure.read(r.child("failure")) if r.has("failure") else None,
            post_migrate=PostMigrate.read(r.child("post_migrate")) if r.has("post_migrate") else None,
            lock_timeout_ms=r.req("lock_timeout_ms", int, type(None)),
            captured=r.req("captured", bool),
        )
