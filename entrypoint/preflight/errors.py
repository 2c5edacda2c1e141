"""Errors a user can cause, each with the exit code it maps to at the edge.

Every message is one line that names the cause and the fix. Messages pass through
`secrets.redact` before they are printed, so a password can never leak through one.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of the `preflight` command (documented in README.md)."""

    OK = 0
    BLOCKED = 1  # findings block the change (gate)
    USAGE = 2  # bad arguments or configuration
    PROJECT = 3  # not a Django project, settings do not import, broken/conflicting graph
    MIGRATION_FAILED = 4  # a pending migration raised on the copy
    TARGET = 5  # target unreachable, wrong password, pg_dump too old, corrupt dump
    INFRASTRUCTURE = 6  # no PostgreSQL binaries, throwaway server failed, disk full
    TESTS_FAILED = 7  # --test-command failed against the migrated copy
    LOCKED = 8  # apply: another apply held the migration lock past --wait
    BACKUP = 9  # apply: the backup failed or did not verify; nothing was applied
    INTERNAL = 70  # a bug in Preflight (EX_SOFTWARE): never 1, which means "blocked"
    INTERRUPTED = 130  # Ctrl-C or SIGTERM


class PreflightError(Exception):
    """A failure with a message a user can act on."""

    exit_code = ExitCode.INFRASTRUCTURE

    def __init__(self, cause: str, fix: str | None = None) -> None:
        self.cause = cause.rstrip(".")
        self.fix = fix
        super().__init__(self.line())

    def line(self) -> str:
        """Return the one-line message: cause, then fix."""
        # A cause that ends in its own mark ("... exist?") takes no full stop after it.
        cause = self.cause if self.cause.endswith(("?", "!")) else f"{self.cause}."
        if not self.fix:
            return cause
        return f"{cause} {self.fix[0].upper()}{self.fix[1:]}"


class BlockedError(PreflightError):
    """Unapproved findings fail the run (gate, --fail-on)."""

    exit_code = ExitCode.BLOCKED


class UsageError(PreflightError):
    exit_code = ExitCode.USAGE


class ProjectError(PreflightError):
    exit_code = ExitCode.PROJECT


class MigrationFailedError(PreflightError):
    exit_code = ExitCode.MIGRATION_FAILED


class TestsFailedError(PreflightError):
    """--test-command exited non-zero against the migrated copy."""

    __test__ = False  # not a pytest test class, whatever its name says
    exit_code = ExitCode.TESTS_FAILED


class TargetError(PreflightError):
    exit_code = ExitCode.TARGET


class LockedError(PreflightError):
    """apply: another apply holds the migration advisory lock past --wait."""

    exit_code = ExitCode.LOCKED


class BackupError(PreflightError):
    """apply: the backup before applying failed or did not verify; nothing was applied."""

    exit_code = ExitCode.BACKUP


class InfrastructureError(PreflightError):
    exit_code = ExitCode.INFRASTRUCTURE


class InterruptedError_(PreflightError):
    """Raised from the SIGTERM handler so cleanup runs as it does for Ctrl-C."""

    exit_code = ExitCode.INTERRUPTED


def internal_error_line(exc: BaseException, traceback_shown: bool, rerun: str) -> str:
    """Return the one line for a bug in Preflight: what was raised, and how to get the traceback."""
    if traceback_shown:
        return f"internal error: {type(exc).__name__}: {exc} (the traceback is above; please report it)"
    return f"internal error: {type(exc).__name__}: {exc} (rerun with {rerun} and report it)"
