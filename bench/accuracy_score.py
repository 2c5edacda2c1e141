"""Score recorded findings against judgements: precision and recall per tool and category.

Pure: no database, no subprocess. Input is what bench/accuracy.py records per scenario
(`bench/accuracy-results/<scenario>.json`) and `bench/accuracy_judgements.yaml`:

    hazards:                     # the ground truth: what the copy shows would hurt
      axes-dedupe-row-locks:
        scenario: axes
        migration: axes.0007_alter_accessattempt_unique_together
        category: locking
        what: the RunPython deletes 2,500 duplicates one by one, row locks held to commit
    findings:                    # one judgement per finding key (tool code severity migration object)
      "preflight LK201 error axes.0007_... CREATE UNIQUE INDEX ...":
        verdict: true            # or false
        hazard: axes-dedupe-row-locks     # the hazard a true finding catches
        category: locking        # for tools without categories (squawk, the linter)
        reason: why

Precision of a tool in a category = true findings / judged findings. Recall = hazards of
that category with at least one true finding of the tool / all hazards of the category.
A hazard no finding points at is a miss of every tool. Info findings claim no hazard:
they are listed as notes and not scored.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TOOLS = ("preflight", "squawk", "django-migration-linter")
CATEGORIES = ("destructive", "locking", "breaking", "data-dependent", "irreversible", "review", "style")
OBJECT_LIMIT = 120


def finding(
    tool: str, code: str, severity: str, migration: str, statement: str, message: str, category: str | None
) -> dict[str, Any]:
    """A recorded finding with its judgement key: `tool code migration object`."""
    item = {
        "tool": tool,
        "code": code,
        "severity": severity,
        "migration": migration,
        "statement": statement,
        "message": message,
        "category": category,
    }
    return {**item, "key": key_of(item)}


def key_of(item: dict[str, Any]) -> str:
    """`tool code severity migration object`: a finding whose severity changes must be judged again."""
    obj = re.sub(r"\s+", " ", item["statement"]).strip()[:OBJECT_LIMIT]
    return f"{item['tool']} {item['code']} {item['severity']} {item['migration']} {obj}"


def scored(item: dict[str, Any]) -> bool:
    """Info findings are notes that claim no hazard: listed, not scored."""
    return item["severity"] != "info"


@dataclass
class Judgements:
    hazards: dict[str, dict[str, Any]] = field(default_factory=dict)
    findings: dict[str, dict[str, Any]] = field(default_factory=dict)


def load_judgements(path: Path) -> Judgements:
    data = yaml.safe_load(path.read_text()) if path.exists() else {}
    return Judgements(dict(data.get("hazards") or {}), dict(data.get("findings") or {}))


@dataclass
class Score:
    true: int = 0
    false: int = 0
    caught: int = 0
    hazards: int = 0

    @property
    def precision(self) -> float | None:
        judged = self.true + self.false
        return self.true / judged if judged else None

    @property
    def recall(self) -> float | None:
        return self.caught / self.hazards if self.hazards else None


def category_of(item: dict[str, Any], judgements: Judgements) -> str:
    judged = judgements.findings.get(item["key"], {})
    if judged.get("category"):
        return str(judged["category"])
    if judged.get("hazard") in judgements.hazards:
        return str(judgements.hazards[judged["hazard"]]["category"])
    return str(item.get("category") or "unknown")


def unique(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One finding per key, in order (a tool repeating itself on one statement counts once)."""
    seen: dict[str, dict[str, Any]] = {}
    for item in findings:
        item = {**item, "key": key_of(item)}  # recorded keys may predate the current format
        seen.setdefault(item["key"], item)
    return list(seen.values())


def kind_of(judged: dict[str, Any], judgements: Judgements) -> str | None:
    """The hazard class a judgement belongs to (e.g. `lock-queue`), to score with or without it."""
    if judged.get("kind"):
        return str(judged["kind"])
    hazard = judgements.hazards.get(judged.get("hazard") or "")
    return str(hazard["kind"]) if hazard and hazard.get("kind") else None


def kinds(judgements: Judgements) -> list[str]:
    return sorted({str(h["kind"]) for h in judgements.hazards.values() if h.get("kind")})


def score(
    results: list[dict[str, Any]], judgements: Judgements, without: str | None = None
) -> dict[tuple[str, str], Score]:
    """Score per (tool, category) over these scenarios' findings and hazards (leaving out one kind)."""
    scenarios = {r["scenario"] for r in results}
    table: dict[tuple[str, str], Score] = defaultdict(Score)
    caught: dict[str, set[str]] = defaultdict(set)
    for result in results:
        for item in unique(result["findings"]):
            judged = judgements.findings.get(item["key"])
            if not judged or not scored(item) or (without and kind_of(judged, judgements) == without):
                continue
            cell = table[item["tool"], category_of(item, judgements)]
            if judged["verdict"]:
                cell.true += 1
                if judged.get("hazard"):
                    caught[item["tool"]].add(judged["hazard"])
            else:
                cell.false += 1
    for name, hazard in judgements.hazards.items():
        if hazard["scenario"] not in scenarios or (without and hazard.get("kind") == without):
            continue
        for tool in TOOLS:
            cell = table[tool, hazard["category"]]
            cell.hazards += 1
            cell.caught += name in caught[tool]
    return dict(table)


def unjudged(results: list[dict[str, Any]], judgements: Judgements) -> list[dict[str, Any]]:
    return [
        item
        for result in results
        for item in unique(result["findings"])
        if scored(item) and item["key"] not in judgements.findings
    ]


def misses(result: dict[str, Any], judgements: Judgements, tool: str) -> list[tuple[str, dict[str, Any]]]:
    """Hazards of this scenario that `tool` has no true finding for."""
    caught = {
        judgements.findings[item["key"]].get("hazard")
        for item in unique(result["findings"])
        if item["tool"] == tool and scored(item) and judgements.findings.get(item["key"], {}).get("verdict")
    }
    return [
        (name, hazard)
        for name, hazard in judgements.hazards.items()
        if hazard["scenario"] == result["scenario"] and name not in caught
    ]


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_scores(table: dict[tuple[str, str], Score]) -> str:
    lines = [
        "| tool | category | true | false | precision | hazards caught | recall |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for tool in TOOLS:
        for category in (*CATEGORIES, "unknown"):
            s = table.get((tool, category))
            if not s or not (s.true or s.false or s.hazards):
                continue
            lines.append(
                f"| {tool} | {category} | {s.true} | {s.false} | {percent(s.precision)} "
                f"| {s.caught}/{s.hazards} | {percent(s.recall)} |"
            )
    return "\n".join(lines)


def render_findings(result: dict[str, Any], judgements: Judgements) -> str:
    lines = [
        "| tool | code | severity | migration | statement / object | verdict | reason |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for item in unique(result["findings"]):
        judged = judgements.findings.get(item["key"])
        verdict = "unjudged" if not judged else ("TRUE" if judged["verdict"] else "FALSE")
        if not scored(item):
            verdict = "note (info, not scored)"
        obj = item["key"].split(" ", 4)[4]
        reason = judged.get("reason", "") if judged else ""
        lines.append(
            f"| {item['tool']} | {item['code']} | {item['severity']} | {item['migration']} | `{cell(obj)}` "
            f"| {verdict} | {cell(str(reason))} |"
        )
    return "\n".join(lines)


def render_hazards(result: dict[str, Any], judgements: Judgements) -> str:
    lines = ["| hazard | category | migration | what | " + " | ".join(TOOLS) + " |", "| --- " * (4 + len(TOOLS)) + "|"]
    missed = {tool: {name for name, _ in misses(result, judgements, tool)} for tool in TOOLS}
    for name, hazard in judgements.hazards.items():
        if hazard["scenario"] != result["scenario"]:
            continue
        marks = " | ".join("MISS" if name in missed[tool] else "caught" for tool in TOOLS)
        lines.append(f"| {name} | {hazard['category']} | {hazard['migration']} | {cell(hazard['what'])} | {marks} |")
    return "\n".join(lines)


def render(results: list[dict[str, Any]], judgements: Judgements) -> str:
    """The Markdown docs/accuracy.md quotes: per scenario findings and hazards, then the scores."""
    parts = []
    for result in results:
        parts.append(f"### {result['scenario']}: {result['package']} {result['old']} -> {result['new']}\n")
        parts.append(render_findings(result, judgements) + "\n")
        parts.append(render_hazards(result, judgements) + "\n")
    parts.append("### Precision and recall per tool and category\n")
    parts.append(render_scores(score(results, judgements)) + "\n")
    for kind in kinds(judgements):
        parts.append(f"### The same without the {kind} hazards and the findings about them\n")
        parts.append(render_scores(score(results, judgements, without=kind)) + "\n")
    left = unjudged(results, judgements)
    if left:
        parts.append(f"### Unjudged findings ({len(left)}): add them to bench/accuracy_judgements.yaml\n")
        parts.extend(f"- `{item['key']}`" for item in left)
    return "\n".join(parts)


def block(text: str, name: str) -> str:
    """The generated block `name` of a document: the lines between <!-- name --> and <!-- /name -->."""
    match = re.search(rf"<!-- {re.escape(name)} -->\n(.*?)<!-- /{re.escape(name)} -->", text, re.S)
    if not match:
        raise ValueError(f"no <!-- {name} --> block")
    return match.group(1).strip()


def replace_block(text: str, name: str, body: str) -> str:
    pattern = rf"(<!-- {re.escape(name)} -->\n).*?(<!-- /{re.escape(name)} -->)"
    if not re.search(pattern, text, re.S):
        raise ValueError(f"no <!-- {name} --> block")
    return re.sub(pattern, lambda m: m.group(1) + body.strip() + "\n" + m.group(2), text, count=1, flags=re.S)
