"""The Report: everything one preview found, as plain dataclasses.

Pure: no database, subprocess or network code. `to_dict`/`from_dict` give the JSON form
whose schema is documented in docs/report-schema.md; bump SCHEMA_VERSION on any change
that is not an added optional field.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from preflight.evidence.measured import Blocked, Lock, Rewrite, RoundTrip, RoundTripStep, TestRun
from preflight.rules.base import Approval, Finding
from preflight.rules.gate import blocking

__all__ = [
    "SCHEMA_VERSION",
    "Approval",
    "Blocked",
    "Finding",
    "Lock",
    "Report",
    "Rewrite",
    "RoundTrip",
    "RoundTripStep",
    "TestRun",
]

SCHEMA_VERSION = 2  # 2: repeated statements folded per migration; statements_omitted counts distinct ones


@dataclass
class Operation:
    index: int
    type: str
    describe: str
    line: int | None
    reversible: bool
    elidable: bool = False


@dataclass
class Statement:
    """One statement executed on the copy; its repeats in the migration folded in, with a count."""

    sql: str
    duration_ms: float  # all executions together
    rows: int | None = None  # all executions together
    count: int = 1
    params: int = 0
    internal: bool = False
    error: str | None = None
    started_ms: float = 0.0  # the first execution, from the start of its migration
    operation: int | None = None  # index of the operation it came from
    max_ms: float | None = None  # the longest execution (None from a report before it was kept)

    @property
    def longest_ms(self) -> float:
        return self.max_ms if self.max_ms is not None else self.duration_ms


@dataclass
class Failure:
    """Why a migration failed on the copy, in plain words."""

    migration: str
    error: str
    type: str
    file: str | None = None
    line: int | None = None
    statement: str | None = None
    sqlstate: str | None = None
    partially_applied: bool = False
    operation: str | None = None  # describe() of the operation that raised


@dataclass
class Migration:
    app: str
    name: str
    file: str | None
    atomic: bool
    reversible: bool
    operations: list[Operation]
    forwards_sql: str | None
    backwards_sql: str | None
    backwards_error: str | None = None
    backwards_after_forwards: bool = False  # collected where the round trip took it back (else: before the plan)
    status: str = "not_run"  # applied | failed | not_run
    duration_ms: float | None = None
    statements: list[Statement] = field(default_factory=list)
    statements_omitted: int = 0  # distinct statements executed past the limit, not listed
    omitted_executions: int = 0  # their executions
    omitted_ms: float = 0.0  # their time together
    locks: list[Lock] = field(default_factory=list)
    rewrites: list[Rewrite] = field(default_factory=list)
    blocked: list[Blocked] = field(default_factory=list)
    feel: str = ""  # what production will feel, in one line

    @property
    def label(self) -> str:
        return f"{self.app}.{self.name}"

    @property
    def irreversible_per_sql(self) -> bool:
        """Its backwards SQL says it cannot go back: an operation without a reverse, or an error
        where the reverse really runs. Before the plan, other errors only say the catalog is not there yet."""
        error = self.backwards_error or ""
        return error.startswith("IrreversibleError") or bool(error and self.backwards_after_forwards)

    @property
    def executed(self) -> list[Statement]:
        return [s for s in self.statements if not s.internal]

    @property
    def executions(self) -> int:
        """Statements the migration itself executed on the copy, repeats and unlisted ones included."""
        return sum(s.count for s in self.executed) + self.omitted_executions


@dataclass
class Target:
    """The database the pending migrations are previewed against (never a password)."""

    source: str  # url | dump | baseline | empty
    description: str
    server_version: str | None = None
    size_bytes: int | None = None
    dump_format: str | None = None
    dump_seconds: float | None = None
    restore_seconds: float | None = None
    has_migrations_table: bool | None = None  # whether django_migrations exists on the copy

    @property
    def lacks_migrations_table(self) -> bool:
        """A given database without django_migrations: probably not this project's (empty is expected)."""
        return self.source in ("url", "dump") and self.has_migrations_table is False


@dataclass
class Rollback:
    app: str
    to: str
    command: str


@dataclass
class Irreversible:
    """A pending migration that cannot be migrated back: `migrate` stops there."""

    migration: str | None  # app.name; None when the round trip failed before naming one
    reason: str
    measured: bool = False  # the round trip on the copy stopped there (else: per its backwards SQL)


@dataclass
class Attempt:
    """One try at a migration on the target: applied, or why it stopped (and what was cleaned up)."""

    number: int
    duration_ms: float
    outcome: str  # applied | lock_timeout | failed
    error: str | None = None
    dropped_invalid_index: str | None = None  # left by an interrupted CREATE INDEX CONCURRENTLY
    backoff_ms: float | None = None  # waited before the next try


@dataclass
class Waited:
    """A lock a migration waited for on the target, and who held it."""

    relation: str
    mode: str
    waited_ms: float
    blockers: list[str] = field(default_factory=list)


@dataclass
class Step:
    """How one migration went on the target: its tries and the locks it waited for."""

    migration: str
    attempts: list[Attempt] = field(default_factory=list)
    waits: list[Waited] = field(default_factory=list)


@dataclass
class BackupFile:
    """The verified backup taken before applying (`pg_dump -Fc`)."""

    path: str
    size_bytes: int
    seconds: float
    objects: dict[str, int]  # kind -> count, equal in the file and in the database
    restore_command: str  # with "$DATABASE_URL", never a real URL


@dataclass
class Deployment:
    """What `preflight apply` (or the route) did to the target: the apply's part of the Report."""

    result: str  # applied | nothing-pending | dry-run | blocked | failed | unverified
    via: str  # cli | action | route | command
    lock_timeout_ms: int
    statement_timeout_ms: int
    retries: int
    backoff_ms: int
    lock_waited_s: float | None = None  # waiting for another apply's migration lock
    backup: BackupFile | None = None
    no_backup: bool = False  # --no-backup, chosen explicitly
    rehearsed: bool = False  # --rehearse: the findings are `preflight gate`'s on a throwaway copy
    steps: list[Step] = field(default_factory=list)
    state: str | None = None  # after a failure: unchanged | partial
    ran: list[str] = field(default_factory=list)  # statements of the failed non-atomic migration that stayed
    invalid_indexes_dropped: list[str] = field(default_factory=list)
    invalid_indexes_left: list[str] = field(default_factory=list)
    pending_after: list[str] = field(default_factory=list)  # showmigrations after applying
    check_errors: list[str] = field(default_factory=list)  # manage.py check after applying
    check_warnings: list[str] = field(default_factory=list)  # its warnings, and INVALID indexes left anywhere
    audit: list[str] = field(default_factory=list)  # where the audit record went
    notes: list[str] = field(default_factory=list)  # what else the run could not do or chose not to

    def step(self, label: str) -> Step | None:
        return next((s for s in self.steps if s.migration == label), None)


@dataclass(frozen=True)
class Report:
    """Everything one preview found, assembled once (report.build) after the rules ran; never changed after."""

    preflight_version: str
    generated_at: str
    project: str
    settings: str
    django_version: str | None
    python_version: str | None
    target: Target
    scratch_provider: str
    scratch_version: str
    migrations: list[Migration]
    rollback: list[Rollback]
    failure: Failure | None = None
    irreversible: list[Irreversible] = field(default_factory=list)  # `rollback` stops before these
    restore_command: str | None = None  # the way back past them: the backup taken before deploying
    timings: dict[str, float] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    fail_on: str = "never"
    round_trip: RoundTrip | None = None
    tests: TestRun | None = None
    lock_timeout_ms: int | None = None  # applied to every statement on the copy (--lock-timeout)
    probed_concurrency: bool = False
    deployment: Deployment | None = None  # `preflight apply`: what happened on the target itself
    schema_version: int = SCHEMA_VERSION

    def count(self, status: str) -> int:
        return sum(1 for m in self.migrations if m.status == status)

    @property
    def blocking(self) -> list[Finding]:
        return blocking(self.findings, self.fail_on)

    @property
    def applied_ms(self) -> float:
        return sum(m.duration_ms or 0.0 for m in self.migrations)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError(f"report schema {version} is not {SCHEMA_VERSION}")
        return _build(cls, data)


def _build(kind: Any, value: Any) -> Any:
    """Rebuild dataclasses (and lists/optionals of them) from JSON data, checking every type.

    A saved report can come from a pull request's own workflow (`preflight comment`), so
    a value of the wrong type is refused rather than rendered.
    """
    if value is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        inner = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        return _build(inner[0], value)
    if origin is list:
        (item,) = typing.get_args(kind)
        return [_build(item, element) for element in _checked(list, value)]
    if origin is dict:
        _, item = typing.get_args(kind)
        return {_checked(str, key): _build(item, element) for key, element in _checked(dict, value).items()}
    if dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        names = {f.name for f in dataclasses.fields(kind)}
        fields = _checked(dict, value)
        return typing.cast(Any, kind)(**{key: _build(hints[key], val) for key, val in fields.items() if key in names})
    if kind is Any:
        return value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return _checked(kind, value)


def _checked(kind: type, value: Any) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"expected {kind.__name__}, found {type(value).__name__} {str(value)[:40]!r}")
    return value
