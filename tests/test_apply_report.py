"""The apply report as a reader sees it: rendered through the real templates from Report records."""

from __future__ import annotations

from preflight.report import render
from preflight.report.model import Attempt, Deployment, Failure, Migration, Report, Step, Target, Waited
from preflight.verdict import verdict


def _migration(name: str, status: str, atomic: bool = True) -> Migration:
    return Migration("shop", name, f"shop/migrations/{name}.py", atomic, True, [], "SELECT 1;", None, status=status)


def _report(deployment: Deployment, migrations: list[Migration], failure: Failure | None = None) -> Report:
    return Report(
        "0.1.0", "2026-11-22T15:00:00+00:00", "shop", "shop.settings", "5.2", "3.11",
        Target("url", "postgresql://deploy@db:5432/shop", server_version="15.4"), "target", "15.4",
        migrations=migrations, rollback=[], failure=failure, deployment=deployment,
    )  # fmt: skip


def _deployment(result: str = "applied", **fields: object) -> Deployment:
    return Deployment(
        result=result, via="cli", lock_timeout_ms=5000, statement_timeout_ms=0, retries=3, backoff_ms=1000,
        **fields,  # type: ignore[arg-type]
    )  # fmt: skip


def test_each_retry_is_a_line_of_its_own_with_the_lock_it_waited_for() -> None:
    step = Step(
        "shop.0002_index",
        attempts=[
            Attempt(1, 5003.0, "lock_timeout", "canceling statement due to lock timeout", "public.shop_idx", 1000.0),
            Attempt(2, 120.0, "applied"),
        ],
        waits=[Waited("public.shop_order", "ShareUpdateExclusiveLock", 5000.0, ["pid 42 (psql)"])],
    )
    markdown = render.to_markdown(_report(_deployment(steps=[step]), [_migration("0002_index", "applied")]))
    assert (
        "- `shop.0002_index` try 1: lock_timeout in 5.0 s (canceling statement due to lock timeout); "
        "dropped the INVALID index `public.shop_idx` it left; waited 1.0 s before the next try\n"
        "- `shop.0002_index` try 2: applied in 120 ms\n"
    ) in markdown
    waited = "SHARE UPDATE EXCLUSIVE on `public.shop_order` 5.0 s (held by pid 42 (psql))"
    assert f"| 2 | {waited} | ✅ applied |" in markdown


def test_a_non_atomic_migration_that_failed_before_any_statement_is_not_called_rolled_back() -> None:
    failure = Failure(
        "shop.0003_backfill", "OperationalError: canceling statement due to lock timeout", "OperationalError"
    )
    report = _report(
        _deployment(result="failed", state="unchanged"),
        [_migration("0003_backfill", "failed", atomic=False)],
        failure,
    )
    markdown = render.to_markdown(report)
    assert "it is not atomic, but none of its statements had run when it failed" in markdown
    assert "rolled back whole" not in markdown
    ending = verdict(report)
    assert ending is not None and ending.exit_code == 4
    assert "(it is not atomic, but none of its statements had run; the migrations before it stay applied)" in (
        ending.line()
    )
