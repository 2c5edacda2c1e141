"""`preflight lint-sql` through the real command: the fixture corpus, formats, exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import run_cli
from rules.corpus import load

CORPUS = [case for case in load() if not case.needs_context]


def test_corpus_codes_through_the_command(tmp_path: Path) -> None:
    files = []
    for case in CORPUS:
        path = tmp_path / f"{case.id}.sql"
        path.write_text(case.sql)
        files.append(path)
    done = run_cli("lint-sql", "--separately", "--format", "json", "--fail-on", "never", *map(str, files))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert len(report["files"]) == len(CORPUS) >= 100
    wrong = []
    for case, path in zip(CORPUS, files, strict=True):
        found = [f for f in report["findings"] if f["file"] == str(path) and f["code"] == case.rule]
        if len(found) != case.expect:
            wrong.append((case.id, case.expect, len(found)))
    assert wrong == []


def test_text_format_names_file_line_code_and_fix(tmp_path: Path) -> None:
    sql = tmp_path / "0042_cleanup.sql"
    sql.write_text(
        "-- cleanup\nCREATE TABLE scratch (id int);\nCREATE INDEX ON scratch (id);\n\n"
        "ALTER TABLE orders DROP COLUMN notes;\nCREATE INDEX CONCURRENTLY i ON orders (x);\n"
    )
    done = run_cli("lint-sql", str(sql))
    assert done.returncode == 1  # an error under the default --fail-on dangerous
    lines = done.stdout.splitlines()
    assert re.match(
        rf"{re.escape(str(sql))}:5: DS102 \[error\] dropping column orders.notes .*Fix: .*\(blocking\)$", lines[0]
    )
    assert lines[-1].startswith("1 findings (1 error, 0 warning, 0 info) in 1 files; 1 blocking")


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ("SELECT 1e;", "trailing junk after numeric literal"),  # the scanner itself gives up here
        ("SELECT 1\x00;", "contains a NUL character"),  # the C scanner and parser stop reading here
    ],
)
def test_statements_after_one_the_scanner_cannot_read_are_still_checked(tmp_path: Path, bad: str, error: str) -> None:
    sql = tmp_path / "0007_mixed.sql"
    sql.write_bytes(f"ALTER TABLE orders ADD COLUMN b int;\n{bad}\nDROP TABLE orders_archive;\n".encode())
    done = run_cli("lint-sql", str(sql))
    lines = done.stdout.splitlines()
    assert done.returncode == 1
    assert re.match(rf"{re.escape(str(sql))}:2: RV601 \[warning\] could not be parsed.*{error}", lines[0]), lines
    assert re.match(rf"{re.escape(str(sql))}:3: DS101 \[error\] ", lines[1]), lines


def test_files_are_one_plan_unless_separately(tmp_path: Path) -> None:
    first, second = tmp_path / "V1.sql", tmp_path / "V2.sql"
    first.write_text("CREATE TABLE audit (id int, note text);")
    second.write_text("CREATE INDEX ON audit (note);")
    assert run_cli("lint-sql", str(first), str(second)).returncode == 0  # audit is new in V2
    done = run_cli("lint-sql", "--separately", str(first), str(second))
    assert done.returncode == 1 and "LK201" in done.stdout


def test_single_transaction_and_markdown(tmp_path: Path) -> None:
    sql = tmp_path / "index.sql"
    sql.write_text("CREATE INDEX CONCURRENTLY i ON orders (x);\n")
    assert run_cli("lint-sql", str(sql)).returncode == 0
    done = run_cli("lint-sql", "--single-transaction", "--format", "markdown", str(sql))
    assert done.returncode == 1
    assert "## ⛔ Preflight lint-sql: 1 file · 1 finding" in done.stdout and "**LK210**" in done.stdout


def test_config_disables_and_changes_severity(tmp_path: Path) -> None:
    sql = tmp_path / "a.sql"
    sql.write_text("ALTER TABLE orders DROP COLUMN notes;\nALTER TABLE t RENAME COLUMN a TO b;\n")
    config = tmp_path / "p.yml"
    config.write_text("rules:\n  DS102: off\n  BR301: info\n")
    done = run_cli("lint-sql", "--config", str(config), "--format", "json", str(sql))
    assert done.returncode == 0
    assert [(f["code"], f["severity"]) for f in json.loads(done.stdout)["findings"]] == [("BR301", "info")]


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["lint-sql", "/nonexistent.sql"], 2, "SQL file /nonexistent.sql does not exist"),
        (["lint-sql", "--config", "/nonexistent.yml", "x.sql"], 2, "--config /nonexistent.yml does not exist"),
    ],
)
def test_usage_errors(args: list[str], code: int, message: str) -> None:
    done = run_cli(*args)
    assert done.returncode == code and message in done.stderr
