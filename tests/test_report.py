"""The Report: JSON round trip, and Markdown golden files from real runs.

Golden files are real runs with the numbers that change between runs (timings,
versions, dates) set to fixed values. Regenerate with `pytest --update-golden` and
review the diff of tests/golden/*.md like any other change.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
from pathlib import Path

import pytest

from conftest import scenario
from preflight.preview import PreviewOptions, preview
from preflight.progress import QuietProgress
from preflight.project import Project
from preflight.report import render
from preflight.report.feel import feel
from preflight.report.model import SCHEMA_VERSION, Report

GOLDEN = Path(__file__).resolve().parent / "golden"
CASES = ("shop_preview", "failing_migration", "no_pending")


def normalize(report: Report) -> Report:
    """Fix what differs from run to run, keep everything else as the run produced it."""
    for index, migration in enumerate(report.migrations):
        if migration.duration_ms is not None:
            migration.duration_ms = 10.0 * (index + 1)
        for position, statement in enumerate(migration.statements):
            statement.duration_ms = float(len(migration.statements) - position)
            statement.started_ms = float(position)
        for lock in migration.locks:
            lock.held_ms = 5.0
        migration.feel = feel(
            migration.status, migration.atomic, migration.locks, migration.rewrites, migration.blocked
        )
    if report.round_trip is not None:
        report.round_trip.backward.duration_ms = 100.0
        if report.round_trip.forward is not None:
            report.round_trip.forward.duration_ms = 100.0
    target = dataclasses.replace(
        report.target,
        restore_seconds=1.5 if report.target.restore_seconds else None,
        size_bytes=12_345_678 if report.target.size_bytes else None,
        server_version="15.0" if report.target.server_version else None,
    )
    return dataclasses.replace(
        report,
        generated_at="2026-01-01T00:00:00+00:00",
        django_version="5.2",
        python_version="3.11",
        scratch_version="15.0",
        target=target,
        timings={key: 1.0 for key in report.timings},
    )


def check_golden(name: str, text: str, update: bool) -> None:
    path = GOLDEN / f"{name}.md"
    if update or not path.exists():
        path.write_text(text)
        if not update:
            pytest.fail(f"{path} did not exist and was written: review it and commit it")
    assert text == path.read_text(), f"{path} differs: run pytest --update-golden and review the diff"


def test_shop_preview_golden(shop: Project, demo_dump: Path, request: pytest.FixtureRequest) -> None:
    report = preview(PreviewOptions(project=shop, target_dump=demo_dump, postgres="local"), QuietProgress())
    assert report.count("applied") == 12
    check_golden("shop_preview", render.to_markdown(normalize(report)), request.config.getoption("--update-golden"))


def test_failing_migration_golden(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    report = preview(PreviewOptions(project=scenario("failing", tmp_path), postgres="local"), QuietProgress())
    assert report.failure is not None
    check_golden(
        "failing_migration", render.to_markdown(normalize(report)), request.config.getoption("--update-golden")
    )


def test_no_pending_golden(shop: Project, request: pytest.FixtureRequest) -> None:
    # A real run with nothing to do: the base ref is the code itself.
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "shop"],
    ):
        subprocess.run(["git", "-C", str(shop.root), *args], check=True)
    report = preview(PreviewOptions(project=shop, base_ref="HEAD", postgres="local"), QuietProgress())
    assert report.migrations == [] and report.rollback == []
    check_golden("no_pending", render.to_markdown(normalize(report)), request.config.getoption("--update-golden"))


def test_every_golden_file_is_used() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.md")) == sorted(CASES)


def test_json_round_trip(tmp_path: Path) -> None:
    report = preview(PreviewOptions(project=scenario("failing", tmp_path), postgres="local"), QuietProgress())
    data = json.loads(render.to_json(report))
    assert data["schema_version"] == SCHEMA_VERSION
    assert Report.from_dict(data) == report
    with pytest.raises(ValueError, match="schema 99"):
        Report.from_dict({**data, "schema_version": 99})


def test_markdown_escapes_table_cells_and_fences() -> None:
    assert render.environment().filters["md"]("a | b\nc") == "a \\| b c"
    assert render.environment().filters["fenced"]("SELECT 1; -- ```` x\n```\n", "sql").startswith("`````sql\n")
    assert render.duration(1234.0) == "1.2 s" and render.duration(61_000.0) == "1 min 1 s"
    assert render.size(12_345_678) == "12.3 MB"


def test_schema_doc_lists_every_field() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "report-schema.md").read_text()
    from preflight.report import model

    for kind in (
        model.Report,
        model.Target,
        model.Migration,
        model.Operation,
        model.Statement,
        model.Failure,
        model.Rollback,
        model.Irreversible,
        model.Finding,
        model.Approval,
        model.Lock,
        model.Rewrite,
        model.Blocked,
        model.RoundTrip,
        model.RoundTripStep,
        model.TestRun,
        model.Deployment,
        model.BackupFile,
        model.Step,
        model.Attempt,
        model.Waited,
    ):
        section = doc.split(f"## {kind.__name__}\n", 1)[1].split("\n## ", 1)[0]
        documented = set(
            re.findall(
                r"`(\w+)`", "\n".join(line.split("|")[1] for line in section.splitlines() if line.startswith("| `"))
            )
        )
        fields = {f.name for f in dataclasses.fields(kind)}
        assert fields == documented, (kind.__name__, fields ^ documented)
