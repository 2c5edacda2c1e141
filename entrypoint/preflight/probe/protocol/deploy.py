"""The deploy and verify answers: the pending migrations applied to the real target, and what is left."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from preflight.errors import UsageError
from preflight.probe.protocol.apply import AppliedMigration, ApplyFailure, PostMigrate
from preflight.probe.protocol.reader import Reader, answer, malformed


@dataclass(frozen=True)
class DeploySettings:
    """How carefully each migration is applied: its timeouts, and how a lock timeout is retried.

    Milliseconds; 0 turns a timeout off. A lock timeout is retried `retries` more times,
    waiting `backoff_ms * 2**n` (at most `backoff_max_ms`) before retry n (from 0).
    """

    lock_timeout_ms: int = 5_000
    statement_timeout_ms: int = 0
    retries: int = 3
    backoff_ms: int = 1_000
    backoff_max_ms: int = 30_000

    def __post_init__(self) -> None:
        for key, value in self.fields().items():
            if type(value) is not int or value < 0:
                raise UsageError(f"{key} must be a whole number >= 0, not {value!r}", "pass 0 or more")

    def fields(self) -> dict[str, int]:
        """The request's fields (the probe reads the same five keys)."""
        return {
            "lock_timeout_ms": self.lock_timeout_ms,
            "statement_timeout_ms": self.statement_timeout_ms,
            "retries": self.retries,
            "backoff_ms": self.backoff_ms,
            "backoff_max_ms": self.backoff_max_ms,
        }

    @classmethod
    def read(cls, r: Reader) -> Self:
        return cls(
            r.req("lock_timeout_ms", int),
            r.req("statement_timeout_ms", int),
            r.req("retries", int),
            r.req("backoff_ms", int),
            r.req("backoff_max_ms", int),
        )


@dataclass(frozen=True)
class Attempt:
    """One try at a migration."""

    number: int  # from 1
    duration_ms: float
    outcome: str  # applied | lock_timeout | failed
    error: str | None = None  # "Type: message", row values removed
    sqlstate: str | None = None
    dropped_invalid_index: str | None = None  # schema.name the failed CREATE INDEX CONCURRENTLY left, dropped
    backoff_ms: float | None = None  # waited after it, before the next attempt

    @classmethod
    def read(cls, r: Reader) -> Self:
        outcome = r.req("outcome", str)
        if outcome not in ("applied", "lock_timeout", "failed"):
            raise malformed(r.verb, f"{r.path('outcome')} is not applied, lock_timeout or failed")
        return cls(
            number=r.req("number", int),
            duration_ms=r.req("duration_ms", float),
            outcome=outcome,
            error=r.req("error", str, type(None)),
            sqlstate=r.req("sqlstate", str, type(None)),
            dropped_invalid_index=r.req("dropped_invalid_index", str, type(None)),
            backoff_ms=r.req("backoff_ms", float, type(None)),
        )


@dataclass(frozen=True)
class LockWait:
    """A lock a migration waited for on the target: how long, and who held it."""

    relation: str | None  # schema.name; None for a wait on a transaction (locktype virtualxid, transactionid)
    mode: str  # e.g. AccessExclusiveLock
    waited_ms: float  # sampled about every 50 ms: a wait shorter than that may not show
    blockers: tuple[str, ...] = ()  # "pid 123 (psql)"
    locktype: str = "relation"

    @classmethod
    def read(cls, r: Reader) -> Self:
        return cls(
            relation=r.req("relation", str, type(None)),
            mode=r.req("mode", str),
            waited_ms=r.req("waited_ms", float),
            blockers=r.strings("blockers"),
            locktype=r.opt("locktype", str, default="relation"),
        )


@dataclass(frozen=True)
class DeployedMigration(AppliedMigration):
    """One pending migration as `deploy` ran it (or did not: status not_run after a failure).

    The apply record the report reads (no locks or rewrites: they are not captured on the
    target), with its tries and the locks it waited for. duration_ms covers every try and
    the backoffs between them; statements are the last try's.
    """

    attempts: tuple[Attempt, ...] = ()
    waits: tuple[LockWait, ...] = ()

    @classmethod
    def read(cls, r: Reader) -> Self:
        run = AppliedMigration.read(r)
        return cls(
            **{name: getattr(run, name) for name in AppliedMigration.__dataclass_fields__},
            attempts=r.objects("attempts", Attempt.read),
            waits=r.objects("waits", LockWait.read),
        )


@dataclass(frozen=True)
class DeployFailure(ApplyFailure):
    """Why a migration failed on the target, and exactly what state that left it in."""

    state: str = "unchanged"  # unchanged | partial (a non-atomic migration's statements stay)
    ran: tuple[str, ...] = ()  # the statements that ran and stay, in order (non-atomic only)
    invalid_indexes_dropped: tuple[str, ...] = ()  # schema.name
    invalid_indexes_left: tuple[str, ...] = ()  # could not be dropped: drop them by hand
    attempts: int = 1
    retry_unsafe: bool = False  # a lock timeout not retried: statements of the migration had already run
    cleanup_error: str | None = None  # why an invalid index could not be dropped

    @classmethod
    def read(cls, r: Reader) -> Self:
        cause = ApplyFailure.read(r)
        state = r.req("state", str)
        if state not in ("unchanged", "partial"):
            raise malformed(r.verb, f"{r.path('state')} is not unchanged or partial")
        return cls(
            **{name: getattr(cause, name) for name in ApplyFailure.__dataclass_fields__},
            state=state,
            ran=r.strings("ran"),
            invalid_indexes_dropped=r.strings("invalid_indexes_dropped"),
            invalid_indexes_left=r.strings("invalid_indexes_left"),
            attempts=r.req("attempts", int),
            retry_unsafe=r.opt("retry_unsafe", bool, default=False),
            cleanup_error=r.opt("cleanup_error", str),
        )


@dataclass(frozen=True)
class DeployAnswer:
    """The pending migrations applied to the target one at a time; stopped at the first failure."""

    migrations: tuple[DeployedMigration, ...]
    settings: DeploySettings
    failure: DeployFailure | None = None
    post_migrate: PostMigrate | None = None
    waits_error: str | None = None  # the lock waits could not be sampled (the deploy went on)
    after_error: str | None = None  # check_replacements or post_migrate raised, after the migrations ran

    @property
    def applied(self) -> tuple[str, ...]:
        return tuple(m.label for m in self.migrations if m.status == "applied")

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        r = answer("deploy", data)
        r.req("failure", dict, type(None))
        r.req("post_migrate", dict, type(None))
        return cls(
            migrations=r.objects("migrations", DeployedMigration.read),
            settings=DeploySettings.read(r.child("settings")),
            failure=DeployFailure.read(r.child("failure")) if r.has("failure") else None,
            post_migrate=PostMigrate.read(r.child("post_migrate")) if r.has("post_migrate") else None,
            waits_error=r.opt("waits_error", str),
            after_error=r.opt("after_error", str),
        )


@dataclass(frozen=True)
class VerifyAnswer:
    """After a deploy: what is still unapplied (as showmigrations lists it), and Django's system checks."""

    pending: tuple[str, ...]  # app.name
    errors: tuple[str, ...]  # "<id>: <object>: <message>", level >= ERROR
    warnings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.pending and not self.errors

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        r = answer("verify", data)
        check = r.child("check")
        return cls(pending=r.strings("pending"), errors=check.strings("errors"), warnings=check.strings("warnings"))
