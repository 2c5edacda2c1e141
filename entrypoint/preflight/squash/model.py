"""The squash report's records: per app, what it holds, what blocks a squash, what to run.

Pure and frozen; `as_json` is the JSON report (dataclasses as objects, tuples as lists).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Blocker:
    """Why a squash cannot reach past a migration, and where that is written."""

    kind: str  # not_elidable | cross_app | cycle | squashed
    migration: str  # app.name
    file: str | None
    line: int | None
    detail: str  # one sentence a user acts on
    edges: tuple[tuple[str, str], ...] = ()  # (migration, the one it depends on), for cross_app and cycle
    limits: bool = True  # the range stops here; a cross-app edge that closes no circle does not


@dataclass(frozen=True)
class Candidate:
    """A range to squash: from `start` (None: the app's first migration) to `end`, stopping before a blocker."""

    app: str
    start: str | None
    end: str
    migrations: int
    from_zero_ms: float  # what the range takes today, migrating a new database
    command: str
    stops_at: Blocker | None = None  # the blocker the range stops before

    @property
    def arguments(self) -> tuple[str, ...]:
        return squash_arguments(self.app, self.start, self.end)


def squash_arguments(app: str, start: str | None, end: str) -> tuple[str, ...]:
    """`squashmigrations`' positional arguments: the app, the range's start when not the first, its end."""
    return (app, *([start] if start else []), end)


@dataclass(frozen=True)
class Deletable:
    """A squash whose replaced files can go: every database given applied them."""

    squash: str
    files: tuple[str, ...]
    dependents: tuple[str, ...]  # migrations naming a replaced one in their dependencies
    steps: tuple[str, ...]


@dataclass(frozen=True)
class AppSquash:
    app: str
    migrations: int  # in use (a squash counts as one; the files it replaces are not counted)
    since_squash: int  # after the last squash (all of them when there is none)
    last_squash: str | None
    from_zero_ms: float
    share: float  # of the whole project's from-zero time
    blockers: tuple[Blocker, ...]
    candidate: Candidate | None
    reset: str | None = None  # the migration-zero route, when no useful range exists
    replaced_files: tuple[str, ...] = ()  # files a squash replaces, still on disk
    deletable: tuple[Deletable, ...] = ()


@dataclass(frozen=True)
class Verification:
    """--verify's proof for one candidate, made in a temporary copy of the project.

    status: equal (the squashed history builds the same schema from zero), different
    (`differences` lists each, original vs squashed), refused (squashmigrations said no:
    `detail` is its line) or failed (`detail` says which step and why). `accepts`: a
    database that applied the original migrations takes the squashed history (migrate
    runs nothing and records the squash applied); `clean`: makemigrations --check finds
    nothing to write after the squash. None: not reached.
    """

    app: str
    command: str
    status: str  # equal | different | refused | failed
    detail: str | None = None
    squashed: str | None = None  # the new migration's name
    differences: tuple[str, ...] = ()
    accepts: bool | None = None
    accepts_detail: str | None = None
    clean: bool | None = None
    clean_detail: str | None = None
    migrations_before: int = 0  # the app's migrations a new database runs, today and after the squash
    migrations_after: int | None = None
    original_ms: float = 0.0  # the app from zero with today's history
    squashed_ms: float | None = None  # the app from zero with the squashed history
    saving_ms: float | None = None
    seconds: float = 0.0  # what verifying this candidate took

    @property
    def proven(self) -> bool:
        """Equal schemas, accepted by a database at the pre-squash state, and makemigrations clean."""
        return self.status == "equal" and bool(self.accepts) and bool(self.clean)


@dataclass(frozen=True)
class SquashReport:
    project: str
    django: str | None
    apps: tuple[AppSquash, ...]  # ranked: the best candidate first
    total_ms: float  # the whole project from zero
    target: str | None  # what the deletable check read (None: not given)
    unmigrated_apps: tuple[str, ...] = ()
    installed: tuple[AppSquash, ...] = ()  # apps of installed packages (django.contrib...): measured, not ranked
    timings: dict[str, float] = dataclasses.field(default_factory=dict)
    verifications: tuple[Verification, ...] | None = None  # --verify, one per candidate; None: not asked

    @property
    def candidates(self) -> tuple[Candidate, ...]:
        return tuple(app.candidate for app in self.apps if app.candidate is not None)


def as_json(report: SquashReport) -> dict[str, Any]:
    data = dataclasses.asdict(report)
    for verification, record in zip(report.verifications or (), data["verifications"] or (), strict=True):
        record["proven"] = verification.proven
    data["format"] = "preflight-squash-report/1"
    return data
