"""The history answer: every app's migrations on disk, in order, and what the database recorded."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from preflight.probe.protocol.plan import PendingMigration
from preflight.probe.protocol.reader import Reader, answer, strings_of


@dataclass(frozen=True)
class HistoryEntry:
    """One migration file as it declares itself, and whether the database recorded it applied."""

    migration: PendingMigration
    applied: bool

    @classmethod
    def read(cls, r: Reader) -> Self:
        return cls(PendingMigration.read(r), r.req("applied", bool))


@dataclass(frozen=True)
class AppHistory:
    """One app's migrations in the order Django applies them (squashes beside what they replace)."""

    app: str
    migrations: tuple[HistoryEntry, ...]

    @classmethod
    def read(cls, r: Reader) -> Self:
        return cls(r.req("app", str), r.objects("migrations", HistoryEntry.read))


@dataclass(frozen=True)
class HistoryAnswer:
    apps: tuple[AppHistory, ...]
    conflicts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # app -> its leaves, when several
    unmigrated_apps: tuple[str, ...] = ()
    has_migrations_table: bool = False
    django: str | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        r = answer("history", data)
        return cls(
            apps=r.objects("apps", AppHistory.read),
            conflicts=r.mapping("conflicts", strings_of),
            unmigrated_apps=r.strings("unmigrated_apps"),
            has_migrations_table=r.req("has_migrations_table", bool),
            django=r.opt("_django", str),
        )
