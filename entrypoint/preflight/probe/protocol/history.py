"""The history answer: every app's migrations on disk, in order, and what the database recorded."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from preflight.probe.protocol.plan import PendingMigration
from preflight.probe.protocol.reader import Reader, answer, strings_of


def _line(reader: Reader, key: str) -> int | None:
    value: int | None = reader.req(key, int, type(None))
    return value


@dataclass(frozen=True)
class UndefinedSetting:
    """A swappable-model setting an operation names (at `line`) that the project's settings lack."""

    setting: str
    line: int | None

    @classmethod
    def read(cls, r: Reader) -> Self:
        return cls(r.req("setting", str), r.req("line", int, type(None)))


@dataclass(frozen=True)
class HistoryEntry:
    """One migration file as it declares itself, and whether the database recorded it applied."""

    migration: PendingMigration
    applied: bool
    parents: tuple[tuple[str, str], ...] = ()  # resolved in the graph (no __first__), for migrations in use
    dependency_lines: Mapping[str, int | None] = field(default_factory=dict)  # "app.name" -> its line in the file
    undefined_settings: tuple[UndefinedSetting, ...] = ()  # swappable-model settings the settings lack

    @property
    def key(self) -> tuple[str, str]:
        return (self.migration.app, self.migration.name)

    @classmethod
    def read(cls, r: Reader) -> Self:
        return cls(
            PendingMigration.read(r),
            r.req("applied", bool),
            r.keys("parents", required=False),
            r.mapping("dependency_lines", _line, required=False),
            r.objects("undefined_settings", UndefinedSetting.read, required=False),
        )


@dataclass(frozen=True)
class AppHistory:
    """One app's migrations in the order `migrate` applies them here, and the files squashes replace."""

    app: str
    migrations: tuple[HistoryEntry, ...]
    replaced: tuple[HistoryEntry, ...] = ()  # on disk, replaced by a squash on disk
    in_project: bool = True  # False: an installed package's app (django.contrib.auth): not the team's to squash

    @classmethod
    def read(cls, r: Reader) -> Self:
        return cls(
            r.req("app", str),
            r.objects("migrations", HistoryEntry.read),
            r.objects("replaced", HistoryEntry.read),
            r.req("in_project", bool),
        )


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
