"""Load the rule fixture corpus (tests/rules/fixtures/*.yml) into engine inputs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from preflight.evidence.facts import ColumnFacts, Facts, IndexFacts, TableFacts
from preflight.evidence.measured import (
    Blocked,
    Executed,
    FailureFacts,
    Lock,
    MigrationRun,
    Rewrite,
    RoundTrip,
    RoundTripStep,
)
from preflight.probe.protocol import OperationRef, PlanAnswer
from preflight.rules.base import PlanState
from preflight.rules.engine import Unit
from preflight.sql.parse import parse

FIXTURES = Path(__file__).resolve().parent / "fixtures"
KEY = re.compile(r"^(?P<table>[\w.]+)\((?P<columns>[\w, ]+)\)$")


@dataclass
class Case:
    rule: str
    name: str
    expect: int
    sql: str = ""
    severity: str | None = None
    message_contains: str | None = None
    statement: int | list[int] | None = None  # 0-based index of the statement each finding is about
    transaction: bool = False
    facts: dict[str, Any] = field(default_factory=dict)
    operation: dict[str, Any] | None = None
    missing: Any = None  # makemigrations' answer, as the probe writes it (read into MissingMigrations)
    opaque_before: bool = False
    applied: bool = False  # the case's migration applied on the copy (engine.settle)
    run: dict[str, Any] | None = None  # a measured MigrationRun (evidence rules)
    round_trip: dict[str, Any] | None = None
    health: Any = None  # the plan's graph health, as the probe writes it (read into GraphHealth)
    thresholds: dict[str, int] = field(default_factory=dict)
    where: dict[str, Any] = field(default_factory=dict)  # facts every finding has (statement_index, ...)
    statement_text: str | None = None  # the statement every finding points at

    def __post_init__(self) -> None:
        # Read as the pipeline reads the probe's answer (protocol.PlanAnswer.parse): the rules see records.
        if self.missing is not None:
            # An older, shorter shape: {app: [changes]}.
            missing = {
                app: {"changes": v} if isinstance(v, list) and app != "_error" else v for app, v in self.missing.items()
            }
            self.missing = _plan({"missing_migrations": missing}).missing_migrations
        if self.health is not None:
            self.health = _plan({"health": self.health}).health

    @property
    def id(self) -> str:
        return f"{self.rule}-{self.name}"

    @property
    def needs_context(self) -> bool:
        """Cases lint-sql cannot reproduce: they need the copy, a transaction or Django."""
        return bool(
            self.facts
            or self.operation
            or self.missing is not None
            or self.transaction
            or self.opaque_before
            or self.applied
            or self.measured
        )

    @property
    def measured(self) -> bool:
        return bool(self.run or self.round_trip or self.health)

    def build_facts(self) -> Facts:
        data = self.facts
        return Facts(
            server_version_num=data.get("server_version_num"),
            data_known=bool(data.get("data_known", False)),
            tables={name: TableFacts(**value) for name, value in (data.get("tables") or {}).items()},
            columns={_column(key): ColumnFacts(**value) for key, value in (data.get("columns") or {}).items()},
            indexes=dict(data.get("indexes") or {}),
            index_info={
                name: IndexFacts(**{**value, "columns": tuple(value.get("columns", ()))})
                for name, value in (data.get("index_info") or {}).items()
            },
            catalog=bool(data.get("catalog", False)),
            nulls={_column(key): value for key, value in (data.get("nulls") or {}).items()},
            duplicates={_columns(key): value for key, value in (data.get("duplicates") or {}).items()},
            duplicates_where={
                (*_columns(key.partition(" WHERE ")[0]), key.partition(" WHERE ")[2]): value
                for key, value in (data.get("duplicates_where") or {}).items()
            },
            volatile_functions=frozenset(data["volatile_functions"]) if "volatile_functions" in data else None,
            too_long={_limit(key): value for key, value in (data.get("too_long") or {}).items()},
            lock_timeout_ms=data.get("lock_timeout_ms"),
        )

    def build_run(self) -> MigrationRun | None:
        if not self.run:
            return None
        data = self.run
        operations = [
            OperationRef(i, op["type"], op["type"], 10 + i, 10 + i, op.get("reversible", True))
            for i, op in enumerate(data.get("operations") or [{"type": "AddField"}])
        ]
        recorded = [{"sql": s} if isinstance(s, str) else s for s in data.get("statements") or []]
        executed = [
            Executed(
                s["sql"],
                s.get("duration_ms", 1.0),
                s.get("rows"),
                s.get("count", 1),
                s.get("started_ms", 0.0),
                s.get("operation", 0),
                max_ms=s.get("max_ms"),
            )
            for s in recorded
        ]
        return MigrationRun(
            app="app",
            name="0001_x",
            file="app/migrations/0001_x.py",
            atomic=data.get("atomic", True),
            status=data.get("status", "applied"),
            duration_ms=data.get("duration_ms", 10.0),
            operations=operations,
            locks=[Lock(**lock) for lock in data.get("locks") or []],
            rewrites=[Rewrite(**rewrite) for rewrite in data.get("rewrites") or []],
            blocked=[Blocked(**blocked) for blocked in data.get("blocked") or []],
            executed=executed,
            failure=FailureFacts(**{**data["failure"], "columns": tuple(data["failure"].get("columns", ()))})
            if data.get("failure")
            else None,
            captured=bool(data.get("captured", False)),
        )

    def build_round_trip(self) -> RoundTrip | None:
        if not self.round_trip:
            return None
        forward = self.round_trip.get("forward")
        return RoundTrip(RoundTripStep(**self.round_trip["backward"]), RoundTripStep(**forward) if forward else None)

    def applied_run(self) -> MigrationRun:
        """The case's migration, applied on the copy."""
        return MigrationRun("app", "0001_x", None, True, "applied", 10.0, [], [])

    def unit(self) -> Unit:
        operation = None
        if self.operation:
            operation = OperationRef(
                0, self.operation["type"], self.operation["type"], 1, 1, bool(self.operation.get("reversible", True))
            )
        return Unit(parse(self.sql), self.transaction, app="app", migration="0001_x", operation=operation)

    def state(self) -> PlanState:
        return PlanState(opaque_before=self.opaque_before)


def _plan(part: dict[str, Any]) -> PlanAnswer:
    """A plan answer with nothing pending but `part`."""
    empty = {
        "pending": [],
        "rollback": {},
        "conflicts": {},
        "nodes": [],
        "applied": [],
        "leaves": {},
        "unmigrated_apps": [],
        "missing_migrations": {},
        "health": {},
        "lock_timeout_setting": None,
        "can_rollback_ddl": True,
        "has_migrations_table": True,
    }
    return PlanAnswer.parse({**empty, **part})


def _column(key: str) -> tuple[str, str]:
    table, _, column = key.rpartition(".")
    return table, column


def _limit(key: str) -> tuple[str, str, int]:
    rest, _, limit = key.rpartition(".")
    table, column = _column(rest)
    return table, column, int(limit)


def _columns(key: str) -> tuple[str, tuple[str, ...]]:
    match = KEY.match(key)
    assert match, f"duplicates key {key!r} must look like table(col, col)"
    return match.group("table"), tuple(c.strip() for c in match.group("columns").split(","))


def load() -> list[Case]:
    cases = []
    for path in sorted(FIXTURES.glob("*.yml")):
        data = yaml.safe_load(path.read_text())
        assert data["rule"] == path.stem, f"{path.name} must declare rule: {path.stem}"
        for name, body in data["cases"].items():
            assert name.startswith(("test_pass_", "test_fail_")), f"{path.name}: {name}"
            cases.append(Case(rule=data["rule"], name=name, **body))
    return cases
