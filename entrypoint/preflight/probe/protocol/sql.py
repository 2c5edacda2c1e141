"""The sql answer (and the round trip's backwards SQL): what `sqlmigrate` prints, by operation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Self

from preflight.probe.protocol.reader import Reader, answer


@dataclass(frozen=True)
class DeferredSql:
    """SQL the schema editor ran at the end of the migration, for the operation that queued it."""

    operation: int
    statements: tuple[str, ...]

    @classmethod
    def read(cls, r: Reader) -> Self:
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
    def read(cls, r: Reader) -> Self:
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
    def read(cls, r: Reader) -> Self:
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
        return cls(answer("sql", data).objects("migrations", MigrationSql.read))

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


@dataclass(frozen=True)
class BackwardsSql:
    """A migration's backwards SQL, collected right before the round trip took it back."""

    app: str
    name: str
    sql: CollectedSql

    @classmethod
    def read(cls, r: Reader) -> Self:
        return cls(r.req("app", str), r.req("name", str), CollectedSql.read(r))
