"""What every rule is made of: categories, severities, findings and the context it sees.

Pure: no database, subprocess or network code. Rules get everything they know about the
database through `Facts` (read from the copy by the pipeline before the migrations run,
or given by a test), and about the plan so far through `PlanState`.
"""

from __future__ import annotations

import enum
import inspect
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from pglast import ast
from pglast.stream import RawStream

from preflight.evidence.facts import ColumnFacts, Facts
from preflight.probe.protocol import OperationRef
from preflight.rules.locks import MODES
from preflight.sql.nodes import AT, CONSTR, commands, new_type
from preflight.sql.parse import Statement


class Category(enum.StrEnum):
    DESTRUCTIVE = "destructive"  # data is lost
    LOCKING = "locking"  # blocks reads or writes while it runs
    BREAKING = "breaking"  # running code of the old release fails
    DATA_DEPENDENT = "data-dependent"  # can fail on existing rows
    IRREVERSIBLE = "irreversible"  # cannot be migrated back
    REVIEW = "review"  # could not be checked: a person must read it


class Severity(enum.IntEnum):
    INFO = 1
    WARNING = 2
    ERROR = 3

    @classmethod
    def parse(cls, text: str) -> Severity:
        return cls[text.upper()]

    def __str__(self) -> str:
        return self.name.lower()


@dataclass
class Thresholds:
    locking_rows: int = 10_000  # below this many rows, locking findings are info
    lock_ms: int = 1_000  # a lock that blocks writes held longer than this is a finding
    rewrite_bytes: int = 10_000_000  # a table rewrite above this size is an error (below: info)
    statement_ms: int = 5_000  # a statement slower than this on the copy is a finding


@dataclass
class AddedColumn:
    """A column an earlier statement of the plan added to a table that existed before the plan."""

    not_null: bool
    default: str | None  # the DEFAULT every existing row got, as SQL; None: they are all NULL
    constant: bool  # the default is one value for every row (a literal), not a per-row expression
    rewritten: bool = False  # a RunPython or an UPDATE of the table ran since: the values are unknown

    @classmethod
    def of(cls, column: ast.ColumnDef, not_null: bool) -> AddedColumn:
        """What the existing rows of a table hold in the column ADD COLUMN gives them."""
        default, constant = None, False
        for constraint in column.constraints or ():
            if constraint.contype == CONSTR.CONSTR_DEFAULT and constraint.raw_expr is not None:
                value = constraint.raw_expr
                while isinstance(value, ast.TypeCast):
                    value = value.arg
                if isinstance(value, ast.A_Const) and value.isnull:
                    continue  # DEFAULT NULL: as if there were none
                default, constant = RawStream()(constraint.raw_expr), isinstance(value, ast.A_Const)
            elif constraint.contype in (CONSTR.CONSTR_IDENTITY, CONSTR.CONSTR_GENERATED):
                default = "generated"
        return cls(not_null, default, constant)


Transaction = tuple[str | int | None, ...]  # which transaction a statement runs in; None: autocommit


@dataclass
class PlanState:
    """What earlier statements of the plan (or file) did: new tables and columns; and what later ones will do."""

    created_tables: set[str] = field(default_factory=set)
    added_columns: dict[tuple[str, str], bool] = field(default_factory=dict)  # -> added NOT NULL
    # Columns added to tables that existed before the plan: what their existing rows hold.
    added_to_existing: dict[tuple[str, str], AddedColumn] = field(default_factory=dict)
    defaults_ahead: Counter[tuple[str, str]] = field(default_factory=Counter)  # SET DEFAULTs still to run
    opaque_before: bool = False  # a RunPython (unknown SQL) ran earlier in the plan
    data_written: set[str] = field(default_factory=set)  # tables an earlier UPDATE, DELETE or INSERT wrote to
    in_transaction: bool = False  # plain SQL: inside BEGIN ... COMMIT
    blocks: int = 0  # BEGINs seen so far: tells one BEGIN ... COMMIT block from the next
    # (table, constraint) added NOT VALID -> (the transaction it was added in, the ADD's constraint)
    not_valid: dict[tuple[str, str], tuple[Transaction | None, Any]] = field(default_factory=dict)
    # transaction -> table -> the strongest lock it holds there (until its commit)
    held: dict[Transaction, dict[str, str]] = field(default_factory=dict)
    dropped_indexes: set[str] = field(default_factory=set)  # indexes and constraints earlier statements dropped
    index_tables: dict[str, str] = field(default_factory=dict)  # index or constraint the plan created -> table
    planned_indexes: set[tuple[str, str]] = field(default_factory=set)  # (table, leading column) the plan indexes
    column_defaults: dict[tuple[str, str], bool] = field(default_factory=dict)  # has a database default now


def index_table(facts: Facts, state: PlanState, name: str) -> str | None:
    """The table of an index or constraint: on the copy before the plan, or created earlier in it."""
    return facts.indexes.get(name) or state.index_tables.get(name)


@dataclass(frozen=True)
class TypeChange:
    table: str
    column: str
    new: str  # the new type as format_type() writes it
    known: ColumnFacts | None  # the column on the copy, when there is one


@dataclass
class Context:
    facts: Facts
    thresholds: Thresholds
    state: PlanState
    in_transaction: bool
    operation: OperationRef | None = None
    transaction: Transaction | None = None  # the transaction this statement runs in, None: its own

    def index_table(self, name: str) -> str | None:
        """See `index_table`."""
        return index_table(self.facts, self.state, name)

    def is_new(self, table: str | None) -> bool:
        """A table created earlier in the plan: nobody else can be using it yet."""
        return table is not None and table in self.state.created_tables

    def rows(self, table: str | None) -> int | None:
        if table is None or not self.facts.data_known:
            return None
        known = self.facts.tables.get(table)
        return known.rows if known else None

    def default_set_later(self, table: str | None, column: str | None) -> bool:
        """A later statement of the plan gives the column a database default again."""
        return self.state.defaults_ahead[(table or "", column or "")] > 0

    def column_is_new(self, table: str | None, column: str | None) -> bool:
        """Added earlier in the plan: the old release does not know it (its table may still have rows)."""
        return self.is_new(table) or (table, column) in self.state.added_columns

    def added_to_existing(self, table: str | None, column: str | None) -> AddedColumn | None:
        """The column was added earlier in the plan to a table that has rows from before it."""
        if self.is_new(table):
            return None
        return self.state.added_to_existing.get((table or "", column or ""))

    def locking_severity(self, table: str | None, default: Severity) -> Severity | None:
        """None on a new table; info below the rows threshold; else the rule's default."""
        if self.is_new(table):
            return None
        rows = self.rows(table)
        if rows is not None and rows < self.thresholds.locking_rows:
            return Severity.INFO
        return default

    def type_changes(self, node: object) -> Iterator[TypeChange]:
        """ALTER COLUMN ... TYPE on columns that existed before the plan, with what the copy knows."""
        for table, cmd in commands(node, AT.AT_AlterColumnType):
            if not self.column_is_new(table, cmd.name):
                column = cmd.name or ""
                yield TypeChange(table or "", column, new_type(cmd), self.facts.columns.get((table or "", column)))

    def data_may_change(self, table: str | None) -> bool:
        """An earlier RunPython, or an earlier UPDATE/DELETE/INSERT of `table`, may have changed its rows."""
        return self.state.opaque_before or (table or "") in self.state.data_written

    def holds(self, table: str | None, mode: str) -> bool:
        """This statement's transaction already holds a lock on `table` at least as strong as `mode`."""
        if table is None or self.transaction is None:
            return False
        held = self.state.held.get(self.transaction, {}).get(table)
        return held is not None and MODES.index(held) >= MODES.index(mode)

    def unique_already(self, table: str | None, columns: tuple[str, ...] | None) -> str | None:
        """The existing non-partial unique index or constraint whose columns all are among `columns`, if any.

        Any row a new unique on `columns` rejects it rejects already: the new one changes
        nothing for the writes of the running release. Only one the copy had before the
        plan and no earlier statement of the plan dropped.
        """
        if table is None or not columns:
            return None
        for name, info in sorted(self.facts.index_info.items()):
            if info.table != table.rpartition(".")[2] or not info.unique or info.partial or not info.columns:
                continue
            if info.constraint == "exclusion" or name in self.state.dropped_indexes:
                continue
            if set(info.columns) <= set(columns):
                return name
        return None

    def size_note(self, table: str | None) -> str:
        rows = self.rows(table)
        return f" ({rows:,} rows on {self.facts.where})" if rows is not None else ""


@dataclass
class Approval:
    source: str  # config | inline | cli | label
    reason: str


@dataclass
class Finding:
    code: str
    name: str
    category: str
    severity: str
    message: str
    fix: str
    statement: str | None = None
    app: str | None = None
    migration: str | None = None
    operation: str | None = None
    file: str | None = None
    line: int | None = None
    approval: Approval | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def where(self) -> str:
        if self.file:
            return f"{self.file}:{self.line}" if self.line else self.file
        return self.migration or ""

    @property
    def label(self) -> str | None:
        return f"{self.app}.{self.migration}" if self.app and self.migration else None


class Rule:
    """One check. Subclasses set the class attributes and override a check method."""

    code: ClassVar[str]
    name: ClassVar[str]
    category: ClassVar[Category]
    severity: ClassVar[Severity]
    # A measured finding about the same statement as a static one is folded into it (same
    # hazard, now with evidence); False for a rule about another hazard of that statement.
    folds: ClassVar[bool] = True

    @classmethod
    def summary(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "").splitlines()[0]

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        """Yield findings about one statement."""
        return iter(())

    def check_operation(self, operation: OperationRef, context: Context) -> Iterator[Finding]:
        """Yield findings about a Django operation as a whole (RunPython, RunSQL, ...)."""
        return iter(())

    def check_run(self, run: Any, context: Context) -> Iterator[Finding]:
        """Yield findings from what a migration did on the copy (a measured.MigrationRun)."""
        return iter(())

    def check_applied(self, finding: Finding) -> Finding:
        """Return one of this rule's findings as it stands once its migration applied on the copy."""
        return finding

    @staticmethod
    def applied_note(finding: Finding, message: str, fix: str) -> Finding:
        """Restate a prediction the copy's run proved wrong as an info note saying what the copy showed."""
        return replace(
            finding,
            severity=str(Severity.INFO),
            message=message,
            fix=fix,
            facts={**finding.facts, "applied_on_copy": True},
        )

    def finding(self, message: str, fix: str, severity: Severity | None = None, **facts: Any) -> Finding:
        return Finding(
            code=self.code,
            name=self.name,
            category=str(self.category),
            severity=str(severity or self.severity),
            message=message,
            fix=fix,
            facts=facts,
        )
