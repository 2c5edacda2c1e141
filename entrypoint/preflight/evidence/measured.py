"""What applying the migrations to the copy showed: locks, rewrites, blocking, round trip.

Pure data, shared by the evidence rules and the report. The probe measures it;
`evidence.runs` turns the probe's parsed answers into these records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from preflight.evidence.row_locks import RowHold, row_holds
from preflight.probe.protocol import OperationRef

# What each lock mode blocks, in the words of someone running the application.
BLOCKS = {
    "AccessShareLock": "blocks only schema changes",
    "RowShareLock": "blocks only schema changes",
    "RowExclusiveLock": "blocks only schema changes and index builds",
    "ShareUpdateExclusiveLock": "blocks other schema changes and VACUUM; reads and writes go on",
    "ShareLock": "blocks writes; reads go on",
    "ShareRowExclusiveLock": "blocks writes; reads go on",
    "ExclusiveLock": "blocks writes and SELECT ... FOR UPDATE; plain reads go on",
    "AccessExclusiveLock": "blocks reads and writes",
}
BLOCKS_WRITES = {"ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"}
BLOCKS_READS = {"AccessExclusiveLock"}


def mode_name(mode: str) -> str:
    """'ShareRowExclusiveLock' -> 'SHARE ROW EXCLUSIVE'."""
    words, current = [], ""
    for char in mode.removesuffix("Lock"):
        if char.isupper() and current:
            words.append(current)
            current = ""
        current += char
    return " ".join([*words, current]).upper()


@dataclass
class Lock:
    relation: str
    mode: str
    held_ms: float
    statement: int
    operation: int | None = None
    new_in_plan: bool = False
    kind: str = "r"

    @property
    def blocks(self) -> str:
        return BLOCKS.get(self.mode, self.mode)

    @property
    def blocks_writes(self) -> bool:
        return self.mode in BLOCKS_WRITES


@dataclass
class Rewrite:
    relation: str
    kind: str  # table | index
    before_bytes: int | None
    after_bytes: int | None
    statement: int
    operation: int | None = None
    new_in_plan: bool = False


@dataclass
class Blocked:
    """What a second session measured while a migration ran (--probe-concurrency)."""

    table: str
    reads_ms: float
    writes_ms: float
    samples: int
    row_writes_ms: float = 0.0  # a sampled row's FOR NO KEY UPDATE (what an UPDATE asks) waited on row locks


@dataclass
class Executed:
    """One recorded statement with what the copy counted (rows)."""

    sql: str
    duration_ms: float  # all its executions together
    rows: int | None  # cursor.rowcount, summed over the executions folded into it
    count: int = 1  # executions folded into this entry
    started_ms: float = 0.0  # from the start of its migration
    operation: int | None = None
    internal: bool = False  # Django's bookkeeping and introspection
    max_ms: float | None = None  # the longest execution; None: it ran once (duration_ms)

    @property
    def longest_ms(self) -> float:
        return self.max_ms if self.max_ms is not None else self.duration_ms


@dataclass
class RoundTripStep:
    status: str  # ok | irreversible | failed
    migrations: int
    duration_ms: float
    migration: str | None = None
    error: str | None = None
    sqlstate: str | None = None


@dataclass
class RoundTrip:
    backward: RoundTripStep
    forward: RoundTripStep | None = None


@dataclass
class TestRun:
    command: str
    exit_code: int
    duration_s: float
    tail: str
    timed_out: bool = False

    @property
    def passed(self) -> bool:
        return self.exit_code == 0


@dataclass
class FailureFacts:
    """What the copy says about why a migration failed (counted after the rollback)."""

    sqlstate: str
    table: str | None = None
    columns: tuple[str, ...] = ()
    constraint: str | None = None
    violating_rows: int | None = None
    write: str | None = None  # UPDATE | INSERT | DELETE: a data change broke a constraint already there


@dataclass
class MigrationRun:
    """One migration as it ran on the copy, for the evidence rules."""

    app: str
    name: str
    file: str | None
    atomic: bool
    status: str
    duration_ms: float | None
    operations: list[OperationRef]
    executed: list[Executed] = field(default_factory=list)  # every statement recorded, in order (repeats folded)
    locks: list[Lock] = field(default_factory=list)
    rewrites: list[Rewrite] = field(default_factory=list)
    blocked: list[Blocked] = field(default_factory=list)
    failure: FailureFacts | None = None
    failed_statement: str | None = None
    failed_operation: int | None = None
    captured: bool = False  # locks were read after each statement: none recorded means none taken

    @property
    def label(self) -> str:
        return f"{self.app}.{self.name}"

    @cached_property
    def row_holds(self) -> list[RowHold]:
        """Rows of existing tables the migration kept locked, and how long (read once: LK218 and the report)."""
        return row_holds(self.executed, self.atomic, self.duration_ms, self.locks)
