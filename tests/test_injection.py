"""Nothing from the project under review injects into the comment, the step summary or the log.

tests/projects/hostile is written like an attacker would: its migration names, RunSQL,
table and column names, a failing migration's exception and its --test-command's output
carry ``` fences, `</details>`, `<img src=x>`, `[Approve](https://x)`, `@org/team` and
`::add-mask::`/`::set-output`/`##[...]` lines. Real previews of it on the real throwaway
PostgreSQL are rendered, parsed with a CommonMark/GFM renderer (markdown-it-py, HTML on as
GitHub passes safe HTML, tables, strikethrough and autolinks on), and every log line is
read the way the Actions runner reads it (its two command parsers, ported below).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import PROJECTS, run_cli
from fake_github import fake_github
from inert import assert_inert, markdown_it, runner_commands, unescape
from preflight.escape import ZWSP
from preflight.preview import PreviewOptions, preview
from preflight.progress import QuietProgress
from preflight.project import Project
from preflight.publish import comment, workflow
from preflight.report import render
from preflight.report.model import Report

# Linux-only names (a line break, angle brackets): written by the test, not checked in.
NAME_0003 = "0003_remove_note\n<img src=x>\n# Owned\n::add-mask::z ##[add-mask]w\n```"
NAME_0004 = "0004_boom\n::add-mask::z <img src=x>"
TESTS = "python hostile_tests.py"


def hostile_project(root: Path, failing: bool = False) -> Path:
    """Copy tests/projects/hostile into `root` as a git checkout: 0001 committed, the rest pending."""
    project = root / "hostile"
    shutil.copytree(PROJECTS / "hostile", project, ignore=shutil.ignore_patterns("__pycache__"))
    migrations = project / "pwn" / "migrations"
    (pending,) = migrations.glob("0002_*.py")
    aside = pending.rename(root / "pending.py")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "baseline"]):
        subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=root, check=True)
    aside.rename(pending)
    shutil.copy(project / "extra" / "0003_remove_note.py", migrations / f"{NAME_0003}.py")
    if failing:
        boom = (project / "extra" / "0004_boom.py").read_text().replace("NAME_OF_0003", NAME_0003.replace("\n", "\\n"))
        (migrations / f"{NAME_0004}.py").write_text(boom)
    return project


def test_hostile_preview_renders_as_text(tmp_path: Path) -> None:
    project = Project(hostile_project(tmp_path), "proj.settings", sys.executable)
    report = preview(
        PreviewOptions(project=project, base_ref="HEAD", postgres="local", test_command=TESTS), QuietProgress()
    )
    assert report.tests is not None and not report.tests.passed and report.failure is None
    assert [m.name for m in report.migrations][1] == NAME_0003
    markdown = render.to_markdown(report)
    fences = assert_inert(markdown, details=len(report.migrations) + 2)  # + timeline + test output
    # Every block closes where the template closes it: each holds exactly what was put in.
    for migration in report.migrations:
        assert migration.forwards_sql is not None and migration.forwards_sql.strip() in fences
    assert report.tests.tail in fences and "</details>\n<img src=x>" in report.tests.tail
    assert "::add-mask::z" in report.migrations[0].forwards_sql  # the payload really went through
    # Escaped, not dropped: the reader still sees what the project wrote.
    text = markdown_it().render(markdown).replace(ZWSP, "")
    assert "pwn_thing&lt;/details&gt;@org/team" in text and "[Approve](https://x)" in text


def test_hostile_failure_through_the_cli(tmp_path: Path) -> None:
    project = hostile_project(tmp_path, failing=True)
    saved = tmp_path / "report.json"
    done = run_cli(
        "preview", "--project", str(project), "--base-ref", "HEAD", "--postgres", "local", "--json", str(saved)
    )
    assert done.returncode == 4, done.stderr
    report = Report.from_dict(json.loads(saved.read_text()))
    assert report.failure is not None and "\n::add-mask::z" in report.failure.error
    fences = assert_inert(done.stdout, details=len(report.migrations) + 1)
    assert report.failure.statement is not None and report.failure.statement in fences
    assert "   ````" in report.failure.statement  # an indented closing fence inside the SQL
    # The progress lines and the one error line (it names the migration) run no command.
    assert runner_commands(done.stderr) == []
    error = done.stderr.splitlines()[-1]
    assert error.startswith("preflight: error: migration pwn.0004_boom\\n::add-mask::z <img src=x> failed on the copy")
    assert runner_commands(render.to_json(report)) == []


def test_a_cut_comment_closes_what_it_opened(tmp_path: Path) -> None:
    report = preview(
        PreviewOptions(project=Project(hostile_project(tmp_path, True), "proj.settings", sys.executable),
                       base_ref="HEAD", postgres="local"),
        QuietProgress(),
    )  # fmt: skip
    markdown = render.to_markdown(report)
    assert report.failure is not None and report.failure.statement is not None
    assert "\n### Pending migrations" in report.failure.statement  # a fake of the heading the cut looks for
    whole = comment.fit(markdown + "x" * comment.LIMIT, None)
    fences = assert_inert(whole)
    assert report.failure.statement in fences  # not cut at the heading inside the failing SQL
    for limit in range(600, len(markdown), 97):
        assert_inert(comment.fit(markdown + "x" * comment.LIMIT, None, limit))


def test_action_log_and_comment(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    project = hostile_project(workspace, failing=True)
    runner = tmp_path / "runner"
    runner.mkdir()
    event = runner / "event.json"
    event.write_text(json.dumps({"number": 7, "pull_request": {"number": 7, "labels": []}}))
    with fake_github() as (base, state):
        env = {
            **os.environ,
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_REPOSITORY": "acme/shop",
            "GITHUB_API_URL": base,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_RUN_ID": "42",
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_STEP_SUMMARY": str(runner / "summary.md"),
            "RUNNER_TEMP": str(runner),
            "INPUT_MODE": "gate",
            "INPUT_PROJECT": "hostile",
            "INPUT_BASE-REF": "HEAD",
            "INPUT_PYTHON": sys.executable,
            "INPUT_POSTGRES": "local",
            "INPUT_GITHUB-TOKEN": "actions-token",
        }
        done = subprocess.run(
            [sys.executable, "-m", "preflight.action"], env=env, capture_output=True, text=True, timeout=600
        )
        (posted,) = state.comments[("acme/shop", 7)]
    assert done.returncode == 4, done.stdout + done.stderr
    commands = runner_commands(done.stdout + "\n" + done.stderr)
    assert commands[0] == ("add-mask", "", "actions-token")
    annotations = [c for c in commands[1:] if c[0] in ("error", "warning", "notice")]
    assert len(annotations) == len(commands) - 1, commands  # nothing but our annotations
    files = set()
    for _name, properties, _message in annotations:
        fields = dict(part.split("=", 1) for part in properties.split(","))
        assert set(fields) <= {"file", "line", "title"}
        assert re.fullmatch(r"[A-Z]{2}\d{3} [a-z-]+|Preflight", unescape(fields["title"]))
        if "file" in fields:
            files.add(unescape(fields["file"]))
    # %, CR and LF escaped as GitHub documents: the runner reads back the real file names.
    assert f"hostile/pwn/migrations/{NAME_0003}.py" in files and all((workspace / f).exists() for f in files)
    (failed,) = [c for c in annotations if c[1] == "title=Preflight"]
    assert failed[2].startswith(f"migration pwn.{NAME_0004} failed on the copy")
    report = Report.from_dict(json.loads((runner / "preflight-report" / "report.json").read_text()))
    assert [m.name for m in report.migrations] == [report.migrations[0].name, NAME_0003, NAME_0004]
    assert_inert(posted["body"], details=len(report.migrations) + 1)  # + the timeline
    assert_inert((runner / "summary.md").read_text(), details=len(report.migrations) + 1)
    assert (project / "pwn" / "migrations" / f"{NAME_0004}.py").exists()


def test_lint_sql_outputs(tmp_path: Path) -> None:
    sql = tmp_path / "V1__hostile.sql"
    sql.write_text(
        'ALTER TABLE "t</details><img src=x>" DROP COLUMN "c [Approve](https://x) @org/team";\n'
        'DROP TABLE "a\n::add-mask::z\n##[add-mask]w\n```";\n'
    )
    markdown = run_cli("lint-sql", "--format", "markdown", str(sql))
    assert markdown.returncode == 1 and "DS101" in markdown.stdout and "DS102" in markdown.stdout
    assert_inert(markdown.stdout)
    text = run_cli("lint-sql", str(sql))
    assert runner_commands(text.stdout) == [] and len(text.stdout.splitlines()) == 3
    assert "a\\n::add-mask::z\\n##\u200b[add-mask]w\\n```" in text.stdout
    assert runner_commands(run_cli("lint-sql", "--format", "json", str(sql)).stdout) == []


def test_annotations_stay_one_command_each(tmp_path: Path) -> None:
    from preflight.rules.base import Finding

    hostile = Finding(
        code="DS102",
        name="drop-column",
        category="destructive",
        severity="error",
        message="dropping t.c\r\n::add-mask::z\n##[add-mask]w 100%0A",
        fix="do not\n::set-output name=x::y",
        file="pwn/migrations/0003_x\n::add-mask::z, a:b.py",
        line=3,
    )
    (line,) = workflow.annotation_lines([hostile], prefix="sub/")
    ((name, properties, data),) = runner_commands(line)
    assert (
        name == "error"
        and data == "dropping t.c\r\n::add-mask::z\n##[add-mask]w 100%0A. Fix: do not\n::set-output name=x::y."
    )
    assert (
        unescape(properties.split(",")[0].removeprefix("file=")) == "sub/pwn/migrations/0003_x\n::add-mask::z, a:b.py"
    )
    mask = workflow.message_line("error", "migration a\n::add-mask::z failed")
    assert runner_commands(mask) == [("error", "title=Preflight", "migration a\n::add-mask::z failed")]


def test_comment_command_renders_the_saved_json_and_refuses_markdown(tmp_path: Path) -> None:
    report = preview(
        PreviewOptions(project=Project(hostile_project(tmp_path), "proj.settings", sys.executable),
                       base_ref="HEAD", postgres="local"),
        QuietProgress(),
    )  # fmt: skip
    saved, tampered, markdown = tmp_path / "report.json", tmp_path / "tampered.json", tmp_path / "report.md"
    saved.write_text(render.to_json(report))
    data = json.loads(saved.read_text())
    data["migrations"][0]["statements"][0]["rows"] = "<img src=x>"
    tampered.write_text(json.dumps(data))
    markdown.write_text("<img src=x> [Approve](https://x)")
    with fake_github() as (base, state):
        env = {"GITHUB_TOKEN": "actions-token", "GITHUB_API_URL": base, "GITHUB_REPOSITORY": "acme/shop"}
        done = run_cli("comment", str(saved), "--pr", "5", env=env)
        assert done.returncode == 0, done.stderr
        (posted,) = state.comments[("acme/shop", 5)]
        assert_inert(posted["body"])
        refused = run_cli("comment", str(markdown), "--pr", "5", env=env)
        assert refused.returncode == 2 and "is not a JSON report" in refused.stderr
        bad = run_cli("comment", str(tampered), "--pr", "5", env=env)
        assert bad.returncode == 2 and "is not a Preflight report: expected int, found str" in bad.stderr
        assert len(state.comments[("acme/shop", 5)]) == 1
