"""`preflight lint-sql`: the rules over plain SQL files, no Django and no database.

Files are read in the order given, as one plan: a table created in the first file is
new in the second (`--separately` checks each file on its own). Without a copy, rules
that need facts (rows, NULLs, duplicates, old column types) report what they can.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from preflight.errors import UsageError
from preflight.escape import json_for_log, log_line
from preflight.evidence.facts import Facts
from preflight.report.render import environment
from preflight.rules.base import Finding
from preflight.rules.engine import Settings, Unit, run
from preflight.rules.gate import blocking
from preflight.secrets import redact
from preflight.sql.parse import parse_with_lines


@dataclass
class LintReport:
    files: list[str]
    findings: list[Finding] = field(default_factory=list)
    fail_on: str = "dangerous"

    @property
    def blocking(self) -> list[Finding]:
        return blocking(self.findings, self.fail_on)


def lint(
    paths: list[Path], settings: Settings, single_transaction: bool, fail_on: str, separately: bool = False
) -> LintReport:
    """Check the files as one plan in the given order, or each as a plan of its own."""
    units = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(
                f"cannot read {path}: {exc.strerror if isinstance(exc, OSError) else exc}",
                "pass SQL files that exist and are UTF-8",
            ) from None
        statements, lines = parse_with_lines(text)
        units.append(Unit(statements, single_transaction, file=str(path), lines=lines))
    plans = [[unit] for unit in units] if separately else [units]
    found = [finding for plan in plans for finding in run(plan, Facts(), settings)]
    return LintReport([str(p) for p in paths], found, fail_on)


def to_text(report: LintReport) -> str:
    lines = [
        f"{f.where}: {f.code} [{f.severity}] {f.message}. Fix: {f.fix}."
        + (" (blocking)" if f in report.blocking else "")
        for f in report.findings
    ]
    counts = {s: sum(1 for f in report.findings if f.severity == s) for s in ("error", "warning", "info")}
    lines.append(
        f"{len(report.findings)} findings ({counts['error']} error, {counts['warning']} warning, {counts['info']} info)"
        f" in {len(report.files)} files; {len(report.blocking)} blocking with --fail-on {report.fail_on}"
    )
    # One finding a line, whatever the SQL's identifiers hold (a quoted name may span lines).
    return "".join(log_line(redact(line)) + "\n" for line in lines)


def to_json(report: LintReport) -> str:
    data = {
        "schema_version": 1,
        "files": report.files,
        "fail_on": report.fail_on,
        "findings": [asdict(f) for f in report.findings],
        "blocking": len(report.blocking),
    }
    return json_for_log(redact(json.dumps(data, indent=2))) + "\n"


def to_markdown(report: LintReport) -> str:
    return redact(environment().get_template("lint.md.j2").render(report=report))
