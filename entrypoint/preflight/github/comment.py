"""The sticky pull-request comment: find ours, fit GitHub's limit, edit in place. Pure but
for the GitHub client passed in.
"""

from __future__ import annotations

from typing import Any

from preflight.github.client import GitHub

MARKER = "<!-- preflight-comment -->"
LIMIT = 65_536  # GitHub's maximum comment body, in characters
FIXED = "\n\n---\n✅ *An earlier run of Preflight reported problems here; this push fixed all of them.*\n"


def fit(markdown: str, summary_url: str | None, limit: int = LIMIT) -> str:
    """Return the comment body: the report, or its top (the summary) and a pointer to the rest."""
    body = f"{MARKER}\n{markdown}"
    if len(body) <= limit:
        return body
    cut = markdown.find("\n### Pending migrations")
    head = markdown[: cut if cut > 0 else limit // 2]
    where = f"the [run's step summary]({summary_url})" if summary_url else "the run's step summary"
    note = (
        f"\n\n---\n*The full report ({len(markdown):,} characters) is longer than a GitHub comment allows; "
        f"it is in {where} and in the `preflight-report` artifact.*\n"
    )
    body = f"{MARKER}\n{head}{note}"
    return body if len(body) <= limit else f"{MARKER}\n{head[: limit - len(note) - len(MARKER) - 2]}{note}"


def find(github: GitHub, repo: str, number: int, login: str) -> dict[str, Any] | None:
    """Our previous comment: it carries the marker and was written by us (never another bot's)."""
    for comment in github.comments(repo, number):
        if MARKER in (comment.get("body") or "") and (comment.get("user") or {}).get("login") == login:
            return comment
    return None


def publish(github: GitHub, repo: str, number: int, markdown: str, clean: bool, summary_url: str | None) -> str:
    """Create or edit the sticky comment; return its URL."""
    login = github.login()
    previous = find(github, repo, number, login)
    body = fit(markdown, summary_url)
    if previous is not None and clean and "⛔" in (previous.get("body") or "") and len(body) + len(FIXED) <= LIMIT:
        body += FIXED
    if previous is None:
        return str(github.create_comment(repo, number, body)["html_url"])
    return str(github.update_comment(repo, int(previous["id"]), body)["html_url"])
