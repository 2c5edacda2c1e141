"""The round-trip answer: back to where the plan started, then forward again."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from preflight.probe.protocol.reader import Reader, answer
from preflight.probe.protocol.sql import BackwardsSql


@dataclass(frozen=True)
class StepAnswer:
    """One direction of the round trip: migrating back, or forward again."""

    status: str  # ok | irreversible | failed
    migrations: int
    duration_ms: float
    migration: str | None = None  # where it stopped
    error: str | None = None
    sqlstate: str | None = None

    @classmethod
    def read(cls, r: Reader) -> Self:
        return cls(
            r.req("status", str),
            r.req("migrations", int),
            r.req("duration_ms", float),
            r.opt("migration", str),
            r.opt("error", str),
            r.opt("sqlstate", str),
        )


@dataclass(frozen=True)
class RoundTripAnswer:
    """Back to where the plan started, then forward again (not when going back failed)."""

    backward: StepAnswer
    forward: StepAnswer | None = None
    backwards_sql: tuple[BackwardsSql, ...] = ()

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        r = answer("roundtrip", data)
        r.req("forward", dict, type(None))
        return cls(
            backward=StepAnswer.read(r.child("backward")),
            forward=StepAnswer.read(r.child("forward")) if r.has("forward") else None,
            backwards_sql=r.objects("backwards_sql", BackwardsSql.read),
        )
