"""The probe's answers as the host reads them: versioned records, parsed once at the edge.

The probe (probe.py, in the project's interpreter) answers each verb with one JSON object.
`PlanAnswer`, `SqlAnswer`, `ApplyAnswer`, `RoundTripAnswer`, `HistoryAnswer`, `DeployAnswer` and
`VerifyAnswer` (a module each; deploy.py holds the last two) each `parse`
one answer: every key the probe always writes must be there with its type, and an answer
that names another protocol version is refused, with one line saying so (ProjectError,
exit 3). Keys this host does not know are ignored, so the probe can add some within a
version. Past `parse` nothing in the pipeline reads a raw dict (reader.py does the reading).

Pure: no I/O. The records are frozen; sequences are tuples.
"""

from __future__ import annotations

from preflight.probe.protocol.apply import (
    AppliedMigration,
    ApplyAnswer,
    ApplyFailure,
    CapturedLock,
    CapturedRewrite,
    ExecutedStatement,
    Frame,
    PostMigrate,
)
from preflight.probe.protocol.deploy import (
    Attempt,
    DeployAnswer,
    DeployedMigration,
    DeployFailure,
    DeploySettings,
    LockWait,
    VerifyAnswer,
)
from preflight.probe.protocol.history import AppHistory, HistoryAnswer, HistoryEntry
from preflight.probe.protocol.plan import (
    AppChanges,
    GraphHealth,
    GraphNode,
    MissingMigrations,
    OperationRef,
    PendingMigration,
    PlanAnswer,
)
from preflight.probe.protocol.reader import PROTOCOL, PROTOCOL_VERSION, malformed
from preflight.probe.protocol.roundtrip import RoundTripAnswer, StepAnswer
from preflight.probe.protocol.sql import BackwardsSql, CollectedSql, DeferredSql, MigrationSql, SqlAnswer

__all__ = [
    "PROTOCOL",
    "PROTOCOL_VERSION",
    "AppChanges",
    "AppHistory",
    "AppliedMigration",
    "ApplyAnswer",
    "ApplyFailure",
    "Attempt",
    "BackwardsSql",
    "CapturedLock",
    "CapturedRewrite",
    "CollectedSql",
    "DeferredSql",
    "DeployAnswer",
    "DeployFailure",
    "DeploySettings",
    "DeployedMigration",
    "ExecutedStatement",
    "Frame",
    "GraphHealth",
    "GraphNode",
    "HistoryAnswer",
    "HistoryEntry",
    "LockWait",
    "MigrationSql",
    "MissingMigrations",
    "OperationRef",
    "PendingMigration",
    "PlanAnswer",
    "PostMigrate",
    "RoundTripAnswer",
    "SqlAnswer",
    "StepAnswer",
    "VerifyAnswer",
    "malformed",
]
