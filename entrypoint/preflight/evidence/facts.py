"""What the copy said about its tables before the pending migrations ran: rows, columns, indexes.

Pure data. `evidence.catalog` reads it from the copy; the rules read it through `Context.facts`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Used when the copy cannot be asked (lint-sql): PostgreSQL's volatile built-ins that
# turn up in defaults. With a copy, pg_proc.provolatile decides, extensions included.
VOLATILE = frozenset(
    {
        "random",
        "clock_timestamp",
        "timeofday",
        "gen_random_uuid",
        "uuid_generate_v1",
        "uuid_generate_v1mc",
        "uuid_generate_v4",
        "nextval",
        "setseed",
    }
)


@dataclass(frozen=True)
class TableFacts:
    rows: int | None = None  # None: unknown (no real data behind the copy)
    size_bytes: int | None = None


@dataclass(frozen=True)
class ColumnFacts:
    type: str  # format_type(), e.g. "character varying(32)", "numeric(10,2)"
    not_null: bool = False
    default: str | None = None


@dataclass(frozen=True)
class IndexFacts:
    """An index on the copy, or the index behind a unique, primary-key or exclusion constraint."""

    table: str
    columns: tuple[str, ...]  # key columns in order; an expression as pg_get_indexdef writes it
    unique: bool = False
    constraint: str | None = None  # "primary key", "unique" or "exclusion" when a constraint owns it
    partial: bool = False  # has a WHERE: enforces nothing on the rows outside it

    @property
    def kind(self) -> str:
        if self.constraint:
            return f"{self.constraint} constraint"
        return "unique index" if self.unique else "index"


@dataclass
class Facts:
    """What the copy said before the pending migrations ran. Empty for lint-sql."""

    server_version_num: int | None = None
    data_known: bool = False  # rows come from real data (a dump or URL), not an empty baseline
    tables: dict[str, TableFacts] = field(default_factory=dict)
    columns: dict[tuple[str, str], ColumnFacts] = field(default_factory=dict)
    # Index name -> table. On a copy, evidence.catalog derives it from index_info; it stays a
    # field of its own because rule fixtures (and lint-sql cases) give bare name -> table maps
    # without columns. Read it through rules.base.index_table. Folding it into index_info
    # means giving those fixtures IndexFacts: left for a change of its own.
    indexes: dict[str, str] = field(default_factory=dict)
    # Indexes (and constraints backed by one, under the constraint's name) the plan drops, and
    # the unique ones of every table the plan adds a unique constraint or index to.
    index_info: dict[str, IndexFacts] = field(default_factory=dict)
    catalog: bool = False  # the copy's catalog was read: an index missing from index_info does not exist
    nulls: dict[tuple[str, str], int] = field(default_factory=dict)  # rows with NULL
    duplicates: dict[tuple[str, tuple[str, ...]], int] = field(default_factory=dict)  # rows sharing a value
    # the same within a partial unique index's WHERE (the predicate as pglast deparses it)
    duplicates_where: dict[tuple[str, tuple[str, ...], str], int] = field(default_factory=dict)
    volatile_functions: frozenset[str] | None = None  # None: use the built-in list
    too_long: dict[tuple[str, str, int], int] = field(default_factory=dict)  # rows longer than a new limit
    lock_timeout_ms: int | None = None  # what production's migrate runs with: None unknown, 0 none
    where: str = "the copy"  # what the rows were counted on, for the findings' words (apply: "the target")


@dataclass
class Needs:
    """What the rules need read from the copy (rules.needs finds it in the pending SQL)."""

    tables: set[str] = field(default_factory=set)
    columns: set[tuple[str, str]] = field(default_factory=set)
    nulls: set[tuple[str, str]] = field(default_factory=set)
    duplicates: set[tuple[str, tuple[str, ...]]] = field(default_factory=set)
    duplicates_where: set[tuple[str, tuple[str, ...], str]] = field(default_factory=set)  # partial unique indexes
    uniques: set[str] = field(default_factory=set)  # tables given a new unique: their unique indexes
    functions: set[str] = field(default_factory=set)
    indexes: set[str] = field(default_factory=set)  # dropped indexes, and dropped constraints (an index's name)
    lengths: set[tuple[str, str, int]] = field(default_factory=set)  # (table, column, new character limit)
