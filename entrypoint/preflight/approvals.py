"""Approvals: inline comments in migration files, and applying approvals to findings. Pure.

An inline approval is a comment in the migration file:

    # preflight: approve DS102 -- notes moved to the CRM; nothing reads them

On (or directly above) an operation it approves that operation's findings of those
codes; anywhere else in the file, the whole migration's.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable
from dataclasses import replace

from preflight.config import ApprovalRule, ConfigError
from preflight.rules import BY_CODE
from preflight.rules.base import Approval, Finding

COMMENT = re.compile(r"#\s*preflight:\s*approve\b(?P<codes>[^-#]*)(?:--\s*(?P<reason>.*))?$", re.I)


def inline(source: str, file: str, migration: str, spans: list[tuple[int, int]]) -> list[ApprovalRule]:
    """Return the approvals written as comments in one migration file.

    `spans` are the (first, last) lines of each operation, in order.
    """
    found: list[ApprovalRule] = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return found
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        match = COMMENT.search(token.string)
        if not match:
            continue
        line = token.start[0]
        codes = [c for c in re.split(r"[\s,]+", match.group("codes").strip()) if c]
        reason = (match.group("reason") or "").strip()
        if not codes or not reason:
            raise ConfigError(
                f"{file}:{line}: approval comment needs rule codes and a reason",
                "write it as: # preflight: approve DS102 -- why this is safe",
            )
        unknown = [c for c in codes if c not in BY_CODE]
        if unknown:
            raise ConfigError(f"{file}:{line}: no rule {unknown[0]} in the approval comment", "see docs/rules.md")
        lines = _operation_at(line, spans, _operations_line(source))
        found += [ApprovalRule("inline", reason, migration=migration, code=code, lines=lines) for code in codes]
    return found


def _operations_line(source: str) -> int:
    """The line of `operations = [`: comments above it are about the whole migration."""
    for number, text in enumerate(source.splitlines(), 1):
        if re.match(r"\s*operations\s*[:=]", text):
            return number
    return 0


def _operation_at(line: int, spans: list[tuple[int, int]], start: int) -> tuple[int, int] | None:
    """The span of the operation a comment on `line` belongs to (on it, or just above it)."""
    previous_end = start
    for first, last in spans:
        if previous_end < line <= last:
            return (first, last)
        previous_end = last
    return None


def apply(findings: Iterable[Finding], approvals: list[ApprovalRule]) -> list[Finding]:
    """Mark each finding with the first approval that covers it."""
    result = []
    for finding in findings:
        approval = next((a for a in approvals if a.covers(finding.label, finding.code, finding.line)), None)
        if approval:
            reason = f"{approval.reason} (label added by {approval.who})" if approval.who else approval.reason
            finding = replace(finding, approval=Approval(approval.source, reason))
        result.append(finding)
    return result
