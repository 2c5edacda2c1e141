"""The GitHub client and the sticky comment against a local server speaking GitHub's shapes."""

from __future__ import annotations

import pytest

from fake_github import BOT, fake_github
from preflight.errors import UsageError
from preflight.github.client import BOT_LOGIN, ForbiddenError, GitHub, GitHubError
from preflight.publish import comment

REPO = "acme/shop"


def test_pagination_follows_link_headers() -> None:
    with fake_github() as (base, state):
        for n in range(250):
            state.add_comment(REPO, 7, f"comment {n}", {"login": "someone", "type": "User"})
        github = GitHub(base, "pat-token")
        bodies = [c["body"] for c in github.paginate(f"/repos/{REPO}/issues/7/comments", per_page=100)]
        assert bodies == [f"comment {n}" for n in range(250)]
        assert [p for m, p in state.requests if m == "GET"].count(f"/repos/{REPO}/issues/7/comments") == 3


def test_sticky_comment_created_then_edited_never_another_bots() -> None:
    with fake_github() as (base, state):
        # Another bot's comment with our marker, and 120 unrelated comments before ours.
        state.add_comment(REPO, 7, f"{comment.MARKER}\nnot ours", {"login": "other-bot[bot]", "type": "Bot"})
        for n in range(120):
            state.add_comment(REPO, 7, f"chatter {n}", {"login": "dev", "type": "User"})
        github = GitHub(base, "actions-token")
        assert github.login() == BOT_LOGIN
        first = comment.publish(github, REPO, 7, "## report one", clean=True, summary_url=None)
        second = comment.publish(github, REPO, 7, "## report two", clean=True, summary_url=None)
        assert first == second
        ours = [c for c in state.comments[(REPO, 7)] if c["user"] == BOT]
        assert len(ours) == 1 and ours[0]["body"].endswith("## report two")
        assert state.comments[(REPO, 7)][0]["body"].endswith("not ours")


def test_comment_says_when_a_push_fixed_everything() -> None:
    with fake_github() as (base, state):
        github = GitHub(base, "actions-token")
        comment.publish(github, REPO, 3, "## ⛔ Preflight: 1 blocking finding", clean=False, summary_url=None)
        comment.publish(github, REPO, 3, "## ✅ Preflight: no findings", clean=True, summary_url=None)
        (ours,) = state.comments[(REPO, 3)]
        assert "this push fixed all of them" in ours["body"]


def test_long_report_is_summarised_under_the_limit() -> None:
    markdown = "## ⛔ Preflight\n\nsummary line\n\n### Pending migrations\n" + "x" * 80_000
    body = comment.fit(markdown, "https://github.com/acme/shop/actions/runs/1")
    assert len(body) <= comment.LIMIT and "summary line" in body and "step summary" in body
    with fake_github() as (base, _state):
        url = comment.publish(GitHub(base, "actions-token"), REPO, 9, markdown, clean=True, summary_url=None)
        assert url.startswith("https://github.com/acme/shop/pull/9#issuecomment-")


def test_errors_name_the_cause_and_never_the_token() -> None:
    with fake_github() as (base, _state):
        with pytest.raises(ForbiddenError, match="two-phase") as caught:
            GitHub(base, "fork-token").create_comment(REPO, 1, "hi")
        assert "fork-token" not in str(caught.value)
        with pytest.raises(GitHubError, match=r"422.*body is too long"):
            GitHub(base, "pat-token").create_comment(REPO, 1, "x" * 70_000)
        with pytest.raises(UsageError, match=r"401.*Bad credentials.*github-token"):
            GitHub(base, "wrong-token").create_comment(REPO, 1, "hi")


def test_rate_limits_are_waited_out() -> None:
    waits: list[float] = []
    with fake_github() as (base, state):
        state.rate_limited = 2
        github = GitHub(base, "pat-token", sleep=waits.append)
        assert github.create_comment(REPO, 1, "after the wait")["body"] == "after the wait"
        assert waits == [1.0, 1.0]
        state.rate_limited = 10
        with pytest.raises(ForbiddenError, match="secondary rate limit"):
            GitHub(base, "pat-token", sleep=waits.append).create_comment(REPO, 1, "gives up")


def test_unreachable_api() -> None:
    with pytest.raises(GitHubError, match="cannot reach the GitHub API"):
        GitHub("http://127.0.0.1:1", "pat-token").login()
