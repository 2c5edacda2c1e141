"""The deploy gate on the example project: blocked, then approved three ways; config errors."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import EXAMPLE, run_cli

DROP = "orders/migrations/0012_remove_order_notes.py"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def gate(project: Path, dump: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "gate",
        "--project",
        str(project),
        "--target-dump",
        str(dump),
        "--postgres",
        "local",
        "--quiet",
        "--format",
        "json",
        *extra,
    )


def test_gate_blocks_the_destructive_migration(project: Path, demo_dump: Path) -> None:
    done = gate(project, demo_dump)
    assert done.returncode == 1, done.stderr
    assert (
        f"blocked by 1 finding (--fail-on destructive): DS102 orders.0012_remove_order_notes at {DROP}:10"
        in done.stderr
    )
    report = json.loads(done.stdout)
    approved = [f for f in report["findings"] if f["approval"]]
    assert [(f["code"], f["app"], f["migration"]) for f in approved] == [
        ("DS102", "catalog", "0010_remove_product_legacy_code")
    ]
    assert approved[0]["approval"]["source"] == "inline"
    blocking = [f for f in report["findings"] if f["code"] == "DS102" and not f["approval"]]
    assert blocking[0]["statement"] == 'ALTER TABLE "orders_order" DROP COLUMN "notes" CASCADE'
    assert blocking[0]["operation"] == "Remove field notes from order"
    assert blocking[0]["facts"]["rows"] == 750  # orders at 3,000 order lines


def test_inline_approval_comment_unblocks(project: Path, demo_dump: Path) -> None:
    path = project / DROP
    path.write_text(
        path.read_text().replace(
            "        migrations.RemoveField(",
            "        # preflight: approve DS102 -- order notes live in the CRM since March; backup taken\n"
            "        migrations.RemoveField(",
        )
    )
    done = gate(project, demo_dump)
    assert done.returncode == 0, done.stderr
    notes = [f for f in json.loads(done.stdout)["findings"] if f["migration"] == "0012_remove_order_notes"]
    assert notes[0]["approval"] == {
        "source": "inline",
        "reason": "order notes live in the CRM since March; backup taken",
    }


def test_config_approval_unblocks(project: Path, demo_dump: Path) -> None:
    config = project / ".preflight.yml"
    config.write_text(
        config.read_text().replace(
            "approvals: []",
            "approvals:\n  - migration: orders.0012_remove_order_notes\n"
            "    rule: DS102\n    reason: notes are in the CRM\n",
        )
    )
    assert gate(project, demo_dump).returncode == 0


def test_cli_approval_needs_a_reason(project: Path, demo_dump: Path) -> None:
    done = gate(project, demo_dump, "--approve", "orders.0012_remove_order_notes:DS102")
    assert done.returncode == 2 and "--approve needs --approve-reason" in done.stderr
    done = gate(
        project,
        demo_dump,
        "--approve",
        "orders.0012_remove_order_notes:DS102",
        "--approve-reason",
        "approved in review #123",
    )
    assert done.returncode == 0, done.stderr


def test_stricter_fail_on_blocks_more(project: Path, demo_dump: Path) -> None:
    done = gate(project, demo_dump, "--fail-on", "dangerous")
    assert done.returncode == 1
    # Two renames and the drop; the index is info below 10,000 rows (3,000 order lines here).
    assert "blocked by 3 findings (--fail-on dangerous)" in done.stderr
    assert done.stderr.count("BR301") == 2 and "DS102 orders.0012" in done.stderr and "LK201" not in done.stderr


def test_preview_reports_but_does_not_fail_by_default(project: Path, demo_dump: Path) -> None:
    done = run_cli(
        "preview", "--project", str(project), "--target-dump", str(demo_dump), "--postgres", "local", "--quiet"
    )
    assert done.returncode == 0, done.stderr
    assert "### ⛔ Findings:" not in done.stdout and "### 🔎 Findings: 3 error" in done.stdout


@pytest.mark.parametrize(
    "text, message",
    [
        ("rules:\n  XX999: off\n", "rules.XX999: no such rule"),
        ("rules:\n  DS102: loud\n", "rules.DS102: 'loud' is not a severity"),
        ("fail_on: sometimes\n", "fail_on: 'sometimes' is not one of"),
        (
            "approvals:\n  - migration: orders.0012_remove_order_notes\n    rule: DS102\n",
            "approvals[0]: an approval needs a reason",
        ),
        ("thresholds:\n  locking_rows: lots\n", "thresholds.locking_rows: 'lots' is not a whole number"),
        ("rules: [\n", "is not valid YAML"),
        ("colour: blue\n", "colour: unknown key"),
    ],
)
def test_bad_config_is_a_usage_error(project: Path, text: str, message: str) -> None:
    (project / ".preflight.yml").write_text(text)
    done = run_cli("gate", "--project", str(project), "--postgres", "local", "--quiet")
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and ".preflight.yml" in done.stderr


def test_approval_comment_without_reason_is_a_usage_error(project: Path, demo_dump: Path) -> None:
    path = project / DROP
    path.write_text(
        path.read_text().replace(
            "        migrations.RemoveField(", "        # preflight: approve DS102\n        migrations.RemoveField("
        )
    )
    done = gate(project, demo_dump)
    assert done.returncode == 2
    assert f"{DROP}:10: approval comment needs rule codes and a reason" in done.stderr


def test_missing_migrations_block_the_gate(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parent / "projects" / "missing_migration"
    shutil.copytree(source, tmp_path / "p")
    done = run_cli("gate", "--project", str(tmp_path / "p"), "--postgres", "local", "--quiet", "--format", "json")
    assert done.returncode == 1
    (finding,) = [f for f in json.loads(done.stdout)["findings"] if f["code"] == "BR304"]
    assert finding["app"] == "ledger" and "Add field memo to entry" in finding["message"]


def test_bad_approval_comment_fails_before_the_copy_is_migrated(project: Path, demo_dump: Path) -> None:
    path = project / DROP
    path.write_text(
        path.read_text().replace(
            "        migrations.RemoveField(", "        # preflight: approve DS102\n        migrations.RemoveField("
        )
    )
    done = run_cli("gate", "--project", str(project), "--target-dump", str(demo_dump), "--postgres", "local")
    assert done.returncode == 2
    assert "reading the migration plan" in done.stderr and "applying to the copy" not in done.stderr
