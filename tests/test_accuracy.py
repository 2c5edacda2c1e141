"""The accuracy scoring (bench/accuracy_score.py) and the fixture-corpus table that
docs/accuracy.md publishes (bench/accuracy_fixtures.py).

The real-package scenarios are rebuilt by `python bench/accuracy.py` (minutes, PyPI);
here the scoring runs on a small recorded input, and the corpus table is recomputed
from tests/rules/fixtures so the published numbers cannot drift from the rules.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

import accuracy_fixtures  # noqa: E402
import accuracy_score  # noqa: E402
from accuracy_score import Judgements, finding  # noqa: E402

INDEX = 'CREATE INDEX "t_a_idx" ON "t" ("a");'
UNIQUE = 'ALTER TABLE "t" ADD CONSTRAINT "t_b_uniq" UNIQUE ("b");'
ADD = 'ALTER TABLE "t" ADD COLUMN "c" text NULL;'


def recorded() -> list[dict[str, Any]]:
    findings = [
        finding("preflight", "LK201", "error", "app.0002_x", INDEX, "index on 50,000 rows", "locking"),
        finding("preflight", "LK201", "error", "app.0002_x", INDEX, "repeated on the same statement", "locking"),
        finding("preflight", "BR303", "error", "app.0003_y", ADD, "no default", "breaking"),
        finding("squawk", "require-concurrent-index-creation", "warning", "app.0002_x", INDEX, "m", None),
        finding("squawk", "disallowed-unique-constraint", "warning", "app.0002_x", UNIQUE, "m", None),
        finding("squawk", "prefer-text-field", "warning", "app.0003_y", ADD, "m", None),
        finding("preflight", "DD401", "info", "app.0002_x", UNIQUE, "the copy removed them", "data-dependent"),
    ]
    return [{"scenario": "s", "package": "pkg", "old": "1", "new": "2", "findings": findings}]


def judgements() -> Judgements:
    keys = [item["key"] for item in recorded()[0]["findings"]]
    return Judgements(
        hazards={
            "index": {"scenario": "s", "migration": "app.0002_x", "category": "locking", "what": "index, 50k rows"},
            "unique": {"scenario": "s", "migration": "app.0002_x", "category": "locking", "what": "unique, 50k rows"},
            "other-scenario": {"scenario": "z", "migration": "a.1", "category": "locking", "what": "not here"},
        },
        findings={
            keys[0]: {"verdict": True, "hazard": "index", "reason": "ShareLock on 50,000 rows"},
            keys[2]: {"verdict": False, "reason": "the column is nullable"},
            keys[3]: {"verdict": True, "hazard": "index", "category": "locking", "reason": "same index"},
            keys[4]: {"verdict": True, "hazard": "unique", "category": "locking", "reason": "unique index build"},
        },
    )


def test_findings_are_keyed_by_tool_code_migration_and_statement() -> None:
    item = finding("squawk", "ban-drop-column", "warning", "a.0001", "ALTER TABLE t\n   DROP COLUMN c;", "m", None)
    assert item["key"] == "squawk ban-drop-column warning a.0001 ALTER TABLE t DROP COLUMN c;"


def test_precision_and_recall_per_tool_and_category() -> None:
    table = accuracy_score.score(recorded(), judgements())
    locking = table["preflight", "locking"]
    # the repeated LK201 counts once; the unique hazard is a Preflight miss
    assert (locking.true, locking.false, locking.caught, locking.hazards) == (1, 0, 1, 2)
    assert (locking.precision, locking.recall) == (1.0, 0.5)
    assert ("preflight", "data-dependent") not in table
    breaking = table["preflight", "breaking"]
    assert (breaking.true, breaking.false, breaking.precision, breaking.recall) == (0, 1, 0.0, None)
    squawk = table["squawk", "locking"]
    assert (squawk.true, squawk.false, squawk.caught, squawk.hazards, squawk.recall) == (2, 0, 2, 2, 1.0)
    assert table["django-migration-linter", "locking"].recall == 0.0


def test_render_lists_verdicts_misses_and_unjudged_findings() -> None:
    text = accuracy_score.render(recorded(), judgements())
    assert "| preflight | LK201 | error | app.0002_x | `" + INDEX + "` | TRUE | ShareLock on 50,000 rows |" in text
    assert "| preflight | BR303 | error | app.0003_y | `" + ADD + "` | FALSE | the column is nullable |" in text
    assert "| unique | locking | app.0002_x | unique, 50k rows | MISS | caught | MISS |" in text
    assert "other-scenario" not in text
    assert "| preflight | locking | 1 | 0 | 100% | 1/2 | 50% |" in text
    assert "Unjudged findings (1)" in text
    assert "- `squawk prefer-text-field warning app.0003_y " + ADD + "`" in text
    # an info finding is a note: listed, never unjudged, never scored
    assert "| preflight | DD401 | info | app.0002_x | `" + UNIQUE + "` | note (info, not scored) |  |" in text


DOCS = REPO / "docs" / "accuracy.md"


def test_published_corpus_table_is_what_the_fixtures_give() -> None:
    scores = accuracy_fixtures.preflight_scores(accuracy_fixtures.load())
    published = accuracy_score.block(DOCS.read_text(), "corpus")
    assert accuracy_fixtures.render(scores, "Preflight, all cases:") == published
    assert set(scores) == {"destructive", "locking", "breaking", "data-dependent", "irreversible", "review"}


def test_published_scenario_tables_are_the_recorded_results_judged() -> None:
    """After a re-run or a new judgement: `python bench/accuracy.py --score-only --write-docs`."""
    results = [json.loads(p.read_text()) for p in sorted((REPO / "bench" / "accuracy-results").glob("*.json"))]
    assert {r["scenario"] for r in results} == {"oauth-toolkit", "axes", "taggit", "allauth", "celery-results"}
    judged = accuracy_score.load_judgements(REPO / "bench" / "accuracy_judgements.yaml")
    assert accuracy_score.unjudged(results, judged) == []
    assert accuracy_score.render(results, judged).strip() == accuracy_score.block(DOCS.read_text(), "scenarios")


def test_replace_block_rewrites_only_between_the_markers() -> None:
    text = "a\n<!-- t -->\nold\n<!-- /t -->\nb\n<!-- u -->\n<!-- /u -->\n"
    text = accuracy_score.replace_block(text, "t", "new |")
    text = accuracy_score.replace_block(text, "u", "filled")
    assert text == "a\n<!-- t -->\nnew |\n<!-- /t -->\nb\n<!-- u -->\nfilled\n<!-- /u -->\n"
    assert accuracy_score.block(text, "u") == "filled"
