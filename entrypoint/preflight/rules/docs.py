"""Write docs/rules.md from the rules' own docstrings: `python -m preflight.rules.docs`."""

from __future__ import annotations

import inspect
import sys

from preflight.rules import REGISTRY
from preflight.rules.base import Category, Rule

INTRO = """# Rules

Generated from the rules' docstrings by `python -m preflight.rules.docs > docs/rules.md`;
a test fails when this file is stale. Every finding names the rule's code, the app,
migration, operation, file and line, the statement, and the fix. Configure severities,
disable rules and record approvals in `.preflight.yml` (see the README).

Severities: **error** fails `preflight gate` (the default `--fail-on dangerous`),
**warning** fails only `--fail-on any`, **info** never fails. Locking findings drop to
info on tables with fewer rows than `thresholds.locking_rows` (default 10,000) on the
copy, and are not reported at all on tables created earlier in the same plan.

| code | name | category | default severity | summary |
| --- | --- | --- | --- | --- |
"""


def section(rule: type[Rule]) -> str:
    doc = inspect.cleandoc(rule.__doc__ or "")
    body = doc.split("\n", 1)[1] if "\n" in doc else ""
    parts: dict[str, list[str]] = {}
    current = "intro"
    for line in body.splitlines():
        stripped = line.strip()
        if stripped in ("Why is this bad?", "Example:", "Use instead:"):
            current = stripped.rstrip(":?")
            continue
        parts.setdefault(current, []).append(line[4:] if line.startswith("    ") else line)
    why = " ".join(line.strip() for line in parts.get("Why is this bad", []) if line.strip())
    example = "\n".join(parts.get("Example", [])).strip("\n")
    instead = " ".join(line.strip() for line in parts.get("Use instead", []) if line.strip())
    return (
        f"## {rule.code} {rule.name}\n\n"
        f"*{rule.category} · default severity {rule.severity}*\n\n"
        f"{rule.summary()}\n\n"
        f"**Why is this bad?** {why}\n\n"
        f"**Example**\n\n```{'python' if 'migrations.' in example else 'sql'}\n{example}\n```\n\n"
        f"**Use instead:** {instead}\n"
    )


def render() -> str:
    rows = "".join(
        f"| [{r.code}](#{r.code.lower()}-{r.name}) | {r.name} | {r.category} | {r.severity} | {r.summary()} |\n"
        for r in REGISTRY
    )
    by_category = "\n".join(section(r) for category in Category for r in REGISTRY if r.category == category)
    return INTRO + rows + "\n" + by_category


if __name__ == "__main__":
    sys.stdout.write(render())
