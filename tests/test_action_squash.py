"""The Action's `mode: squash-report` against a local fake GitHub: one issue, or the step summary.

What a maintainer sees: one open issue labelled preflight-squash whose body is the report
as rendered, edited week after week (never a second, wherever it sits in the issue list);
without `issues: write` the step summary and one warning line, and a success; a token
GitHub refuses is one error line. And the report itself renders inert whatever the
project's names hold.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PROJECTS, copy_project
from fake_github import BOT, State, fake_github
from inert import ALLOWED_TAGS, Elements, markdown_it, runner_commands
from preflight.action import squash
from preflight.action.settings import Settings, from_env
from preflight.errors import UsageError
from preflight.github.client import GitHub
from preflight.options import build_parser
from preflight.publish import issue
from preflight.squash.model import AppSquash, Blocker, Candidate, Deletable, SquashReport
from preflight.squash.render import to_json, to_markdown

REPO = "acme/shop"
PERSON = {"login": "dev", "id": 7, "type": "User"}


def hand_built(app: str = "ledger", migration: str = "0039_entry_f38_idx", total_ms: float = 900.0) -> SquashReport:
    """A squash report as the pipeline makes one: an app with a candidate, a blocker and deletable files."""
    stop = Blocker("not_elidable", f"{app}.0040_default", f"{app}/migrations/0040_default.py", 12, "RunPython.")
    candidate = Candidate(app, None, migration, 39, 600.0, f"python manage.py squashmigrations {app} {migration}", stop)
    deletable = Deletable(f"{app}.0001_squashed", (f"{app}/migrations/{migration}.py",), (), ("Delete the files.",))
    apps = (AppSquash(app, 60, 60, None, total_ms, 1.0, (stop,), candidate, deletable=(deletable,)),)
    return SquashReport("shop", "5.2", apps, total_ms, "prod.dump", unmigrated_apps=(f"{app}_docs",))


def settings(tmp_path: Path, base: str = "") -> Settings:
    runner = tmp_path / "runner"
    runner.mkdir(parents=True, exist_ok=True)
    (runner / "output").write_text("")
    return Settings(
        args=build_parser().parse_args(["squash-report"]),
        mode="squash-report",
        repository=REPO,
        api_url=base,
        run_id="42",
        output_path=str(runner / "output"),
        summary_path=str(runner / "summary.md"),
    )


def outputs(path: str | None) -> dict[str, str]:
    """The step outputs written in GITHUB_OUTPUT's heredoc syntax."""
    assert path
    values, lines = {}, Path(path).read_text().splitlines()
    while lines:
        key, _, delimiter = lines.pop(0).partition("<<")
        value = []
        while lines and (line := lines.pop(0)) != delimiter:
            value.append(line)
        values[key] = "\n".join(value)
    return values


def publish(given: Settings, token: str, base: str, report: SquashReport, tmp_path: Path) -> tuple[int, list[str]]:
    """Publish `report` as the Action does; return the exit code and the lines it printed."""
    printed = tmp_path / "printed.txt"
    with printed.open("w") as stream:
        code = squash.publish(given, GitHub(base, token), to_markdown(report), to_json(report), tmp_path, stream)
    return code, printed.read_text().splitlines()


def ours(state: State, repo: str = REPO) -> list[dict]:
    return [
        i
        for i in state.issues.get(repo, [])
        if issue.MARKER in i["body"] and i["user"] == BOT and "pull_request" not in i
    ]


def test_the_issue_is_created_once_then_edited_wherever_it_is_listed(tmp_path: Path) -> None:
    with fake_github() as (base, state):
        given = settings(tmp_path, base)
        code, printed = publish(given, "actions-token", base, hand_built(), tmp_path)
        assert code == 0
        (created,) = state.issues[REPO]
        markdown = to_markdown(hand_built())
        assert markdown.startswith(issue.MARKER + "\n")
        assert (created["title"], created["body"], [label["name"] for label in created["labels"]]) == (
            "Preflight: migration squash report",
            markdown,  # exactly the rendered report: its escaping is the template's
            ["preflight-squash"],
        )
        assert printed == [f"squash report: https://github.com/{REPO}/issues/1"]
        assert outputs(given.output_path)["issue-url"] == created["html_url"]

        # A week later: 150 newer issues with the label (ours is now on page 2), a pull
        # request carrying the label and the marker, an unlabelled issue with the marker.
        for n in range(150):
            state.add_issue(REPO, f"squash ledger? {n}", "let's talk", PERSON, ["preflight-squash"])
        state.add_issue(REPO, "a PR", issue.MARKER, BOT, ["preflight-squash"], pull=True)
        state.add_issue(REPO, "copied", issue.MARKER, BOT, [])
        state.requests.clear()
        given = settings(tmp_path / "week2", base)
        code, printed = publish(given, "actions-token", base, hand_built(total_ms=450.0), tmp_path / "week2")
        assert code == 0 and printed == [f"squash report: https://github.com/{REPO}/issues/1"]
        (edited,) = [i for i in ours(state) if i["labels"]]
        assert edited["number"] == 1 and edited["body"] == to_markdown(hand_built(total_ms=450.0))
        assert len(state.issues[REPO]) == 153  # nothing new
        listed = [path for method, path in state.requests if method == "GET" and path == f"/repos/{REPO}/issues"]
        assert len(listed) == 2  # the second page was read
        assert ("PATCH", f"/repos/{REPO}/issues/1") in state.requests


def test_issues_of_others_and_without_the_marker_are_left_alone(tmp_path: Path) -> None:
    """A person's issue with the label, or one with the marker by another account: not ours to overwrite."""
    with fake_github() as (base, state):
        mine = state.add_issue(REPO, "squash plans", "We squash in Q3.", PERSON, ["preflight-squash"])
        other = state.add_issue(REPO, "bot", f"{issue.MARKER}\nold", {"login": "octocat"}, ["preflight-squash"])
        closed = state.add_issue(REPO, "last year", f"{issue.MARKER}\nold", BOT, ["preflight-squash"])
        closed["state"] = "closed"
        # Every workflow's GITHUB_TOKEN writes as the same bot: the marker tells ours apart.
        workflow = state.add_issue(REPO, "weekly deps", "Outdated: django", BOT, ["preflight-squash"])
        code, _ = publish(settings(tmp_path, base), "actions-token", base, hand_built(), tmp_path)
        assert code == 0
        assert [i["number"] for i in state.issues[REPO]] == [1, 2, 3, 4, 5]
        old = f"{issue.MARKER}\nold"
        assert (mine["body"], other["body"], closed["body"]) == ("We squash in Q3.", old, old)
        assert workflow["body"] == "Outdated: django"
        assert state.issues[REPO][4]["body"] == to_markdown(hand_built())


@pytest.mark.parametrize(
    "token, disabled, warning",
    [
        (
            "read-token",
            False,
            "the squash report is in the step summary only: the token may not write issues (GitHub answered 403 "
            f"to POST /repos/{REPO}/issues: Resource not accessible by integration). Grant the job `issues: write`",
        ),
        (
            "actions-token",
            True,
            f"the squash report is in the step summary only: GitHub answered 410 to POST /repos/{REPO}/issues: "
            "Issues are disabled for this repo. Turn on issues in the repository's settings",
        ),
    ],
)
def test_without_an_issue_the_step_summary_has_the_report(
    tmp_path: Path, token: str, disabled: bool, warning: str
) -> None:
    with fake_github() as (base, state):
        state.issues_disabled = disabled
        given = settings(tmp_path, base)
        code, printed = publish(given, token, base, hand_built(), tmp_path)
        assert code == 0 and state.issues.get(REPO, []) == []
    assert printed == [f"::warning title=Preflight::{warning}"]
    markdown = to_markdown(hand_built())
    assert given.summary_path and Path(given.summary_path).read_text() == markdown + "\n"
    written = outputs(given.output_path)
    assert written["issue-url"] == "" and Path(written["report-path"]).read_text() == markdown
    assert Path(written["report-json-path"]).read_text() == to_json(hand_built())


def test_a_token_github_refuses_is_one_error_line_after_the_summary(tmp_path: Path) -> None:
    with fake_github() as (base, state):
        given = settings(tmp_path, base)
        with pytest.raises(UsageError) as refused:
            publish(given, "expired-token", base, hand_built(), tmp_path)
        assert state.issues.get(REPO, []) == []
    assert refused.value.exit_code == 2
    assert refused.value.line() == "GitHub answered 401 to GET /user: Bad credentials. Check the github-token input"
    assert given.summary_path and Path(given.summary_path).read_text() == to_markdown(hand_built()) + "\n"
    assert Path(outputs(given.output_path)["report-path"]).exists()


def test_a_report_longer_than_an_issue_allows_is_cut_with_a_pointer() -> None:
    markdown = to_markdown(hand_built()) + "".join(f"- line {n}\n" for n in range(10_000))
    body = issue.fit(markdown, "https://github.com/acme/shop/actions/runs/42")
    assert len(body) <= 65_536 and body.startswith(issue.MARKER)
    assert body.endswith("it is in the [run's step summary](https://github.com/acme/shop/actions/runs/42) and in the "
                         "`preflight-report` artifact.*\n")  # fmt: skip
    assert issue.fit("short", None) == "short"


def test_mode_squash_report_is_parsed_with_the_squash_reports_flags() -> None:
    env = {
        "INPUT_MODE": "squash-report",
        "INPUT_PROJECT": "shop",
        "INPUT_TARGET-DUMP": "prod.dump",
        "INPUT_ROUND-TRIP": "on",  # GitHub sets every input with a default: not squash-report's, not read
        "INPUT_FAIL-ON": "any",
        "INPUT_VERIFY": "off",
    }
    args = from_env(env).args
    assert (args.command, args.project, str(args.target_dump)) == ("squash-report", "shop", "prod.dump")
    assert from_env({**env, "INPUT_VERIFY": "on"}).args.verify is True
    assert from_env(env).args.verify is False


HOSTILE_APP = "shop<img src=x>@team"


@pytest.mark.parametrize("app", [HOSTILE_APP, "ledger"])
def test_the_report_renders_inert_whatever_the_names_hold(app: str) -> None:
    """The issue body is the report as rendered: what a project names must stay text in it."""
    report = hand_built(app=app, migration="0039_x`y<img src=x>@all ::error::z www.e.vil")
    markdown = to_markdown(report)
    html = markdown_it().render(markdown)
    elements = Elements()
    elements.feed(html)
    assert set(elements.tags) <= ALLOWED_TAGS | {"h4", "ol"}, set(elements.tags) - ALLOWED_TAGS
    prose = "".join(elements.prose)
    assert "@team" not in prose and "@all" not in prose and "www.e.vil" not in prose
    assert runner_commands(markdown) == []
    assert f"<code>{app.replace('<', '&lt;').replace('>', '&gt;')}</code>" in html


def test_a_pipe_in_a_migration_name_stays_in_its_table_cell() -> None:
    report = hand_built(migration="0039_a|<img src=https://e.vil/pixel.png>")
    html = markdown_it().render(to_markdown(report))
    assert "<img" not in html


def test_mode_squash_report_keeps_one_issue_on_a_real_project(tmp_path: Path) -> None:
    """The container's entrypoint on a scheduled run: a real squash report, an issue, then the same issue."""
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    copy_project(PROJECTS / "squash_done", workspace)
    with fake_github() as (base, state):
        runs = []
        for week in ("1", "2"):
            runner = tmp_path / f"runner{week}"
            runner.mkdir()
            (runner / "output").write_text("")
            env = {
                **os.environ,
                "GITHUB_ACTIONS": "true",
                "GITHUB_WORKSPACE": str(workspace),
                "GITHUB_REPOSITORY": REPO,
                "GITHUB_API_URL": base,
                "GITHUB_RUN_ID": week,
                "GITHUB_EVENT_NAME": "schedule",
                "GITHUB_OUTPUT": str(runner / "output"),
                "GITHUB_STEP_SUMMARY": str(runner / "summary.md"),
                "RUNNER_TEMP": str(runner),
                "INPUT_MODE": "squash-report",
                "INPUT_PROJECT": "squash_done",
                "INPUT_PYTHON": sys.executable,
                "INPUT_POSTGRES": "local",
                "INPUT_GITHUB-TOKEN": "actions-token",
                "INPUT_COMMENT": "on",
                "INPUT_ROUND-TRIP": "on",
                "INPUT_VERIFY": "off",
            }
            done = subprocess.run(
                [sys.executable, "-m", "preflight.action"], env=env, capture_output=True, text=True, timeout=600
            )
            assert done.returncode == 0, done.stdout + done.stderr
            runs.append((done, outputs(str(runner / "output")), (runner / "summary.md").read_text()))
        (only,) = state.issues[REPO]
        for done, written, summary in runs:
            markdown = Path(written["report-path"]).read_text()
            assert markdown.startswith(issue.MARKER) and summary == markdown + "\n"
            assert written["issue-url"] == f"https://github.com/{REPO}/issues/1"
            assert f"squash report: https://github.com/{REPO}/issues/1" in done.stdout
            assert "::warning" not in done.stdout and "::error" not in done.stdout
            assert (done.stdout + done.stderr).count("actions-token") == 1  # the ::add-mask:: line only
        assert only["body"] == markdown  # the second week's report, as rendered
        assert ("POST", f"/repos/{REPO}/issues") in state.requests
        assert ("PATCH", f"/repos/{REPO}/issues/1") in state.requests


def test_the_example_workflow_runs_weekly_with_the_least_it_needs() -> None:
    import yaml

    from conftest import REPO as ROOT

    workflow = yaml.safe_load((ROOT / "docs" / "workflows" / "squash-report.yml").read_text())
    assert workflow["permissions"] == {}
    assert set(workflow[True]) == {"schedule", "workflow_dispatch"}  # YAML 1.1 reads `on` as True
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "read", "issues": "write"}
    (step,) = [s for s in job["steps"] if s.get("id") == "preflight"]
    assert step["with"]["mode"] == "squash-report"


def test_an_issue_opened_without_its_label_is_a_warning(tmp_path: Path) -> None:
    with fake_github() as (base, state):
        state.drop_labels = True
        code, printed = publish(settings(tmp_path, base), "actions-token", base, hand_built(), tmp_path)
        (created,) = state.issues[REPO]
    url = f"https://github.com/{REPO}/issues/1"
    assert code == 0 and created["labels"] == []
    assert printed == [
        f"squash report: {url}",
        f"::warning title=Preflight::GitHub opened {url} without the label preflight-squash (it drops labels the "
        "token may not set), so the next run cannot find it. Add the label to it",
    ]


def test_without_a_token_the_step_summary_has_the_report(tmp_path: Path) -> None:
    given = settings(tmp_path)
    printed = tmp_path / "printed.txt"
    with printed.open("w") as stream:
        code = squash.publish(given, None, "report\n", "{}\n", tmp_path, stream)
    assert code == 0 and given.summary_path and Path(given.summary_path).read_text() == "report\n\n"
    assert printed.read_text() == (
        "::warning title=Preflight::the squash report is in the step summary only: no github-token or "
        "GITHUB_REPOSITORY\n"
    )
