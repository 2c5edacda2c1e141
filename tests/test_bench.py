"""The scaling benchmark's own logic (bench/run.py, bench/measure.py): which migrations the
sampled sqlmigrate loop calls, how it is labelled, and the linearity goal judged relative
to Django's own migrate. The benchmark itself runs as `python bench/run.py [--quick]`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

import measure  # noqa: E402
import run  # noqa: E402
from history import write_history  # noqa: E402

from preflight.postgres.base import Server  # noqa: E402


@pytest.mark.parametrize(("pending", "limit"), [(60, 150), (300, 150), (3000, 0), (400, 400)])
def test_loop_runs_every_migration_up_to_the_threshold_or_the_limit(pending: int, limit: int) -> None:
    assert list(measure.loop_sample(pending, limit).positions(pending)) == list(range(pending))


def test_loop_sample_of_3000_is_every_twentieth_from_the_middle() -> None:
    positions = list(measure.loop_sample(3000, 150).positions(3000))
    assert positions == list(range(9, 3000, 20))


@pytest.mark.parametrize("pending", [301, 999, 1000, 1001, 2999, 3000, 10_007])
def test_loop_sample_is_at_most_the_limit_and_spread_over_the_whole_plan(pending: int) -> None:
    sample = measure.loop_sample(pending, 150)
    positions = list(sample.positions(pending))
    assert 75 < len(positions) <= 150
    # a call costs more the later its migration: the sample's mean position is the plan's
    assert abs(sum(positions) / len(positions) - (pending - 1) / 2) <= sample.step
    assert positions[0] < sample.step and positions[-1] >= pending - sample.step


def test_sampled_loop_runs_real_sqlmigrate_calls_and_says_so(pg: Server, tmp_path: Path) -> None:
    project = write_history(tmp_path / "history", 12)
    database = pg.create_database("benchloop")
    try:
        env = measure.django_env(pg, database, project)
        sampled = measure.sqlmigrate_loop(sys.executable, env, project, 12, measure.loop_sample(12, 4, all_up_to=0))
        full = measure.sqlmigrate_loop(sys.executable, env, project, 12, measure.loop_sample(12, 4))
    finally:
        pg.drop_database(database)
    assert (sampled.calls, sampled.pending, sampled.sampled) == (4, 12, True)
    assert (full.calls, full.sampled) == (12, False)
    assert "(sampled: 4 of 12)" in run.loop_cell(sampled)
    assert "(all 12;" in run.loop_cell(full)


def scale(n: int, sql_ms: float, migrate_ms: float) -> measure.Scale:
    """A measured size with `sql_ms` and `migrate_ms` per migration (apply, wall alike)."""
    preview = measure.Preview(2 * sql_ms * n / 1000, {"sql": sql_ms * n / 1000, "apply": sql_ms * n / 1000}, n)
    bare = measure.Migrate(wall=migrate_ms * n / 1000, start=0.3, work=migrate_ms * n / 1000)
    return measure.Scale("growing", n, preview, None, bare)


def test_linearity_is_bounded_relative_to_migrate_and_raw_growth_is_reported() -> None:
    # the preview's time per migration grows 1.5x, as much as Django's own migrate's
    goals = run.linear_goals([scale(300, 5.0, 6.0), scale(1000, 7.5, 9.0)], "growing")
    bounded = {g.name: g for g in goals if g.bound is not None}
    reported = {g.name: g for g in goals if g.bound is None}
    name = "growing history: sql per migration, relative to migrate, 1,000 vs 300"
    assert bounded[name].measured == pytest.approx(1.0) and bounded[name].ok
    assert reported["growing history: sql per migration, raw, 1,000 vs 300"].measured == pytest.approx(1.5)
    section = run.goals_section(goals)
    assert "| growing history: sql per migration, raw, 1,000 vs 300 | 1.50x | - | reported |" in section


def test_linearity_is_past_its_bound_when_the_preview_outgrows_migrate() -> None:
    goals = run.linear_goals([scale(300, 5.0, 6.0), scale(1000, 15.0, 6.0)], "growing")
    past = [g.name for g in goals if not g.ok]
    assert "growing history: sql per migration, relative to migrate, 1,000 vs 300" in past
