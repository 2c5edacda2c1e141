"""Precision and recall of Preflight per category on the rule fixture corpus, with squawk
side by side on the cases plain SQL can reproduce.

    python bench/accuracy_fixtures.py            # Preflight only (what tests/test_accuracy.py checks)
    python bench/accuracy_fixtures.py --squawk   # and squawk on the same SQL (needs `squawk` on PATH)

Each case of tests/rules/fixtures/<CODE>.yml is labelled by its author: a `test_fail_*`
case holds the hazard of rule CODE (in CODE's category), a `test_pass_*` case does not.
Preflight catches a fail case when CODE fires on it, and is wrong on a pass case when CODE
fires there. squawk catches a fail case when one of its rules of the same category
(SQUAWK_CATEGORY) fires on the case's SQL, and is wrong on a pass case likewise; cases
that need the copy, a transaction or Django (facts, measured runs, operations) are
Preflight-only and left out of squawk's column.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "entrypoint"))
sys.path.insert(0, str(REPO / "tests" / "rules"))

from corpus import Case, load  # noqa: E402

from preflight.rules import BY_CODE, engine  # noqa: E402
from preflight.rules.base import Finding, Thresholds  # noqa: E402

# squawk 2.70 rules by the category of hazard they are about (style advice: None)
SQUAWK_CATEGORY: dict[str, str | None] = {
    "ban-drop-column": "destructive",
    "ban-drop-table": "destructive",
    "ban-drop-database": "destructive",
    "ban-truncate-cascade": "destructive",
    "require-concurrent-index-creation": "locking",
    "require-concurrent-index-deletion": "locking",
    "adding-field-with-default": "locking",
    "adding-foreign-key-constraint": "locking",
    "constraint-missing-not-valid": "locking",
    "disallowed-unique-constraint": "locking",
    "changing-column-type": "locking",
    "adding-not-nullable-field": "locking",
    "adding-serial-primary-key-field": "locking",
    "ban-concurrent-index-creation-in-transaction": "locking",
    "ban-alter-domain-with-add-constraint": "locking",
    "ban-create-domain-with-constraint": "locking",
    "require-lock-timeout": None,  # fire on every locking statement: scored apart
    "require-statement-timeout": None,
    "transaction-nesting": "review",
    "renaming-column": "breaking",
    "renaming-table": "breaking",
    "adding-required-field": "breaking",
    "ban-drop-not-null": "breaking",
    "ban-drop-default": "breaking",
    "ban-drop-constraint": "breaking",
    "renaming-object": "breaking",
    "prefer-robust-stmts": None,
    "prefer-big-int": None,
    "prefer-bigint-over-int": None,
    "prefer-bigint-over-smallint": None,
    "prefer-identity": None,
    "prefer-text-field": None,
    "prefer-timestamptz": None,
    "ban-char-field": None,
    "ban-uncommitted-transaction": None,
    "require-table-schema": None,
}


@dataclass
class Tally:
    caught: int = 0  # fail cases found
    missed: int = 0  # fail cases not found
    wrong: int = 0  # pass cases flagged
    clean: int = 0  # pass cases left alone

    @property
    def precision(self) -> float | None:
        flagged = self.caught + self.wrong
        return self.caught / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        hazards = self.caught + self.missed
        return self.caught / hazards if hazards else None


def run_case(case: Case) -> list[Finding]:
    """Run the engine on one case exactly as tests/rules/test_fixtures.py does."""
    if case.measured:
        run = case.build_run()
        settings = engine.Settings(thresholds=Thresholds(**case.thresholds))
        return engine.run_measured(
            [run] if run else [], case.build_facts(), settings, case.build_round_trip(), case.health
        )
    return engine.run([case.unit()], case.build_facts(), missing_migrations=case.missing, state=case.state())


def category(code: str) -> str:
    return str(BY_CODE[code].category)


def tally(flagged: bool, fail: bool, into: Tally) -> None:
    if fail:
        into.caught += flagged
        into.missed += not flagged
    else:
        into.wrong += flagged
        into.clean += not flagged


def preflight_scores(cases: list[Case]) -> dict[str, Tally]:
    scores: dict[str, Tally] = defaultdict(Tally)
    for case in cases:
        flagged = any(f.code == case.rule for f in run_case(case))
        tally(flagged, case.name.startswith("test_fail_"), scores[category(case.rule)])
    return dict(scores)


def squawk_scores(cases: list[Case], squawk: str = "squawk") -> tuple[dict[str, Tally], dict[str, Tally]]:
    """squawk and Preflight on the same plain-SQL cases, per category."""
    theirs: dict[str, Tally] = defaultdict(Tally)
    ours: dict[str, Tally] = defaultdict(Tally)
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            if case.needs_context or not case.sql.strip():
                continue
            path = Path(tmp) / f"{case.id}.sql"
            path.write_text(case.sql)
            done = subprocess.run(
                [squawk, "--reporter", "json", "--pg-version", "15.0", str(path)], capture_output=True, text=True
            )
            rules = {item["rule_name"] for item in json.loads(done.stdout or "[]")}
            wanted = category(case.rule)
            fail = case.name.startswith("test_fail_")
            tally(any(SQUAWK_CATEGORY.get(rule) == wanted for rule in rules), fail, theirs[wanted])
            tally(any(f.code == case.rule for f in run_case(case)), fail, ours[wanted])
    return dict(theirs), dict(ours)


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def render(scores: dict[str, Tally], label: str) -> str:
    lines = [
        f"| {label} category | fail cases caught | pass cases flagged | precision | recall |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name in sorted(scores):
        t = scores[name]
        lines.append(
            f"| {name} | {t.caught}/{t.caught + t.missed} | {t.wrong}/{t.wrong + t.clean} "
            f"| {percent(t.precision)} | {percent(t.recall)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--squawk", action="store_true", help="also run squawk on the plain-SQL cases")
    args = parser.parse_args()
    cases = load()
    print(render(preflight_scores(cases), "Preflight, all cases:"))
    if args.squawk:
        theirs, ours = squawk_scores(cases)
        print()
        print(render(ours, "Preflight, plain-SQL cases:"))
        print()
        print(render(theirs, "squawk, plain-SQL cases:"))


if __name__ == "__main__":
    main()
