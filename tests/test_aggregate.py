"""Repeated statements are folded per migration, and nothing executed is dropped silently.

Unit tests of the probe's normalization, then a data migration that loops over 600 rows
one at a time (SELECT, UPDATE, SELECT, UPDATE, ...: never the same statement twice in a
row), applied to real PostgreSQL by the real `preflight preview`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import run_cli, scenario
from preflight.probe.session import child_module

probe = child_module("capture")

ROWS = 600
DISTINCT = 550  # distinct SELECTs of the third operation: more than the report lists


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ('UPDATE "t" SET "n" = 1 WHERE "t"."id" = 42', 'UPDATE "t" SET "n" = 2 WHERE "t"."id" = 43'),
        ("UPDATE t SET name = 'O''Brien' WHERE id = 1", "UPDATE t SET name = 'Smith' WHERE id = 2"),
        ("SELECT * FROM t WHERE s = E'a\\'b'", "SELECT * FROM t WHERE s = E'c'"),
        ("SELECT * FROM t WHERE b = $$x$$ AND c = 1.5e3", "SELECT * FROM t WHERE b = $tag$y$tag$ AND c = .5"),
        ("SELECT * FROM t WHERE id IN (%s, %s, %s)", "SELECT * FROM t WHERE id IN (%s)"),
        ("SELECT * FROM t WHERE id IN (1, 2)", "SELECT * FROM t WHERE id IN (%s, %s, %s)"),
        ("INSERT INTO t (a, b) VALUES (%s, %s), (%s, %s)", "INSERT INTO t (a, b) VALUES (%s, %s)"),
        ('SAVEPOINT "s140_x1"', 'SAVEPOINT "s140_x2"'),
        ('RELEASE SAVEPOINT "s140_x1"', 'RELEASE SAVEPOINT "s140_x2"'),
    ],
)
def test_same_statement_with_other_values_folds(one: str, other: str) -> None:
    assert probe.normalize(one) == probe.normalize(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ('UPDATE "t" SET "n" = 1', 'UPDATE "u" SET "n" = 1'),  # another table
        ('UPDATE "t1" SET "n" = 1', 'UPDATE "t2" SET "n" = 1'),  # digits in a name are not values
        ('SELECT "c1" FROM t', 'SELECT "c2" FROM t'),
        ("SELECT count(*) AS total_1 FROM t", "SELECT count(*) AS total_2 FROM t"),
        ("UPDATE t SET n = 1 WHERE id = 2", "DELETE FROM t WHERE id = 2"),
        ("SELECT * FROM t -- 1", "SELECT * FROM t -- 2"),
        # A schema change is folded only with the identical text: each one's locks are read.
        ("ALTER TABLE t ADD COLUMN n int DEFAULT 1", "ALTER TABLE t ADD COLUMN n int DEFAULT 2"),
        ('SAVEPOINT "s1_x1"', 'RELEASE SAVEPOINT "s1_x1"'),
    ],
)
def test_different_statements_do_not_fold(one: str, other: str) -> None:
    assert probe.normalize(one) != probe.normalize(other)


def test_recorder_folds_alternating_statements_and_counts_what_it_does_not_list() -> None:
    recorder = probe.StatementRecorder()
    recorder.at_operation(0)
    for pk in range(1, 1001):
        recorder._add('SELECT * FROM "t" WHERE "id" = %s', 2.0, 1, None, False, [pk], offset=pk * 3.0)
        recorder._add(f'UPDATE "t" SET "n" = {pk} WHERE "id" = {pk}', 1.0 if pk != 500 else 7.5, 1, None, False, None)
    select, update = recorder.statements
    assert (select["count"], select["duration_ms"], select["max_ms"], select["rows"]) == (1000, 2000.0, 2.0, 1000)
    assert select["started_ms"] == 3.0  # the first execution
    assert (update["count"], update["duration_ms"], update["max_ms"]) == (1000, 1006.5, 7.5)
    assert update["sql"] == 'UPDATE "t" SET "n" = %s WHERE "id" = %s'  # no value of any execution is kept
    for number in range(probe.MAX_STATEMENTS + 10):
        recorder._add(f"SELECT 1 AS c{number}", 1.0, 1, None, False, None)
    recorder._add("SELECT 1 AS c0", 1.0, 1, None, False, None)  # a kept one again: folded, not omitted
    recorder._add(f"SELECT 1 AS c{probe.MAX_STATEMENTS + 5}", 1.0, 1, None, False, None)  # an omitted one again
    assert len(recorder.statements) == probe.MAX_STATEMENTS
    assert recorder.omitted_summary() == {
        "statements_omitted": 12,
        "omitted_executions": 13,
        "omitted_ms": 13.0,
        "omitted_rows": 13,
    }
    failed = recorder._add('UPDATE "t" SET "n" = 1 WHERE "id" = 1', 1.0, None, "IntegrityError: x", False, None)
    assert failed is recorder.statements[-1] and recorder.failed is failed  # kept, even past the limit


def test_loop_of_single_row_saves_is_one_line_per_statement(tmp_path: Path) -> None:
    project = scenario("loop", tmp_path)
    data = tmp_path / "report.json"
    done = run_cli(
        *("preview", "--project", str(project.root), "--settings", "proj.settings", "--postgres", "local"),
        *("--no-round-trip", "--quiet", "--json", str(data)),
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(data.read_text())
    (migration,) = [m for m in report["migrations"] if m["name"] == "0002_count_stock"]
    by_sql = {s["sql"]: s for s in migration["statements"]}
    get = by_sql[
        'SELECT "stock_item"."id", "stock_item"."sku", "stock_item"."quantity" FROM "stock_item" '
        'WHERE "stock_item"."id" = %s LIMIT 21'
    ]
    save = by_sql['UPDATE "stock_item" SET "quantity" = %s WHERE "stock_item"."id" = %s']
    inlined = by_sql["UPDATE stock_item SET quantity = quantity + %s, sku = %s WHERE id = %s"]
    for entry in (get, save, inlined):
        assert entry["count"] == ROWS and entry["rows"] == ROWS
        assert 0 < entry["max_ms"] <= entry["duration_ms"]
    assert (get["operation"], save["operation"], inlined["operation"]) == (0, 0, 1)
    assert not any("R-1" in s["sql"] for s in migration["statements"])  # the inlined values are not kept
    # The third operation's distinct statements: listed up to the limit, the rest counted.
    distinct = [s for s in migration["statements"] if s["operation"] == 2]
    assert len([s for s in migration["statements"] if not s["internal"]]) == probe.MAX_STATEMENTS
    assert len([s for s in distinct if not s["internal"]]) + migration["statements_omitted"] == DISTINCT
    assert migration["omitted_executions"] == migration["statements_omitted"] > 0
    assert migration["omitted_ms"] > 0

    markdown = done.stdout
    assert f"· {3 * ROWS + DISTINCT + 1:,} statements executed in" in markdown
    row = re.compile(r"^\| [\d.]+ (?:ms|s) for 600 executions, [\d.]+ ms at most \| 600 \| `(?P<sql>[^`]+)` \|$", re.M)
    assert sorted(match["sql"][:25] for match in row.finditer(markdown)) == [
        'SELECT "stock_item"."id",',
        'UPDATE "stock_item" SET "',
        "UPDATE stock_item SET qua",
    ]
    omitted = migration["statements_omitted"]
    assert re.search(
        rf"^\| [\d.]+ (?:ms|s) for {omitted} executions \| \| \*{omitted} more distinct statements, past the limit",
        markdown,
        re.M,
    )
    slow = [f for f in report["findings"] if f["code"] == "LK215" and f["migration"] == "0002_count_stock"]
    assert len(slow) == 3
    for finding in slow:
        assert re.fullmatch(
            r"600 executions of this statement on the copy, [\d.]+ (?:ms|s) in total, [\d.]+ ms at most",
            finding["message"],
        )
        assert finding["facts"]["count"] == ROWS
        assert finding["facts"]["max_ms"] <= finding["facts"]["duration_ms"]
