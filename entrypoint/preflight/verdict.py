"""What a finished run means for its exit: one decision for the CLI and the Action. Pure."""

from __future__ import annotations

from preflight.config import Config
from preflight.errors import BlockedError, MigrationFailedError, PreflightError, TestsFailedError
from preflight.report.model import Failure, Finding, Report, TestRun


def default_fail_on(config: Config, gate: bool) -> str:
    """The gate fails on the config's fail_on (else dangerous); a preview never fails on findings."""
    return (config.fail_on or "dangerous") if gate else "never"


def failure_error(failure: Failure) -> MigrationFailedError:
    """The one-line error for a migration that raised on the copy."""
    where = f" at {failure.file}:{failure.line}" if failure.file else ""
    first = failure.error.strip().splitlines()[0] if failure.error.strip() else failure.type
    return MigrationFailedError(
        f"migration {failure.migration} failed on the copy{where}: {first}",
        "fix the migration; the report shows the statement that failed",
    )


def _ended(run: TestRun) -> str:
    return "timed out" if run.timed_out else f"exited with {run.exit_code}"


def tests_error(run: TestRun) -> TestsFailedError:
    """The one-line error for a --test-command that failed against the migrated copy."""
    return TestsFailedError(
        f"the post-migration tests failed: {run.command!r} {_ended(run)} against the migrated copy",
        "fix the tests or the migrations; the report shows the last lines of its output",
    )


def blocked_error(blocking: list[Finding], fail_on: str) -> BlockedError:
    """The one-line error naming what blocks the change."""
    shown = "; ".join(
        " ".join(part for part in (f.code, f.label or f.app, f"at {f.where}" if f.where else "") if part)
        for f in blocking[:5]
    )
    more = f" and {len(blocking) - 5} more" if len(blocking) > 5 else ""
    count = f"{len(blocking)} finding{'s' if len(blocking) != 1 else ''}"
    return BlockedError(
        f"blocked by {count} (--fail-on {fail_on}): {shown}{more}",
        f"fix {'them' if len(blocking) != 1 else 'it'}, or approve with a reason (# preflight: approve CODE -- why, "
        ".preflight.yml, or --approve)",
    )


def apply_verdict(report: Report) -> PreflightError | None:
    """The error `preflight apply` ends with: blocked, a migration that failed on the target, checks after it."""
    deployment = report.deployment
    assert deployment is not None
    target = report.target.description
    if deployment.result == "blocked":
        error = blocked_error(report.blocking, report.fail_on)
        return BlockedError(f"nothing was applied: {error.cause}", error.fix)
    if deployment.result == "failed" and report.failure is not None:
        failure = report.failure
        first = failure.error.strip().splitlines()[0] if failure.error.strip() else failure.type
        atomic = next((m.atomic for m in report.migrations if m.label == failure.migration), True)
        if deployment.state != "unchanged":
            state = f"it is not atomic and {len(deployment.ran)} of its statements stayed applied"
        elif atomic:
            state = "it was rolled back whole, the migrations before it stay applied"
        else:
            state = "it is not atomic, but none of its statements had run; the migrations before it stay applied"
        return MigrationFailedError(
            f"migration {failure.migration} failed on the target {target}: {first} ({state})",
            "the report shows the statement, the state the database is in and the way back",
        )
    if deployment.result == "unverified":
        if report.tests is not None and not report.tests.passed:
            run = report.tests
            return TestsFailedError(
                f"the migrations were applied to {target}, but {run.command!r} {_ended(run)} after them",
                "the report shows its last lines and the way back",
            )
        left = [f"{label} is still pending" for label in deployment.pending_after] + deployment.check_errors
        left += [note for note in deployment.notes if note.startswith("after the migrations")]
        return MigrationFailedError(
            f"the migrations were applied to {target}, but the checks after them failed: {'; '.join(left)[:300]}",
            "the report shows the checks and the way back",
        )
    return None


def verdict(report: Report) -> PreflightError | None:
    """The error a run ends with: a migration that failed, then failed tests, then blocking findings."""
    if report.deployment is not None:
        return apply_verdict(report)
    if report.failure is not None:
        return failure_error(report.failure)
    if report.tests is not None and not report.tests.passed:
        return tests_error(report.tests)
    if report.blocking:
        return blocked_error(report.blocking, report.fail_on)
    return None
