"""Which findings fail a run: `--fail-on destructive|dangerous|any|never`. Pure."""

from __future__ import annotations

from collections.abc import Iterable

from preflight.rules.base import Finding

FAIL_ON = ("destructive", "dangerous", "any", "never")


def fails(finding: Finding, fail_on: str) -> bool:
    """Whether one unapproved finding fails the run.

    destructive: destructive findings of warning or error; dangerous: any error;
    any: any warning or error; never: nothing. Approved findings never fail it.
    """
    if finding.approval is not None or fail_on == "never":
        return False
    if fail_on == "destructive":
        return finding.category == "destructive" and finding.severity != "info"
    if fail_on == "dangerous":
        return finding.severity == "error"
    return finding.severity in ("error", "warning")


def blocking(findings: Iterable[Finding], fail_on: str) -> list[Finding]:
    return [f for f in findings if fails(f, fail_on)]
