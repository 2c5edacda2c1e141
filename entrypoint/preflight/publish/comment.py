"""The sticky pull-request comment: find ours, fit GitHub's limit, edit in place. Pure but
for the GitHub client passed in.
"""

from __future__ import annotations

import re
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
    return f"{MARKER}\n{cut(markdown, summary_url, limit - len(MARKER) - 1, 'comment')}"


def cut(markdown: str, summary_url: str | None, room: int, what: str) -> str:
    """Return the top of `markdown` that fits in `room` characters with a pointer to the whole report."""
    where = f"the [run's step summary]({summary_url})" if summary_url else "the run's step summary"
    note = (
        f"\n\n---\n*The full report ({len(markdown):,} characters) is longer than a GitHub {what} allows; "
        f"it is in {where} and in the `preflight-report` artifact.*\n"
    )
    return head(markdown, room - len(note)) + note


_FENCE = re.compile(r"^(`{3,})")


def head(markdown: str, room: int) -> str:
    """Return the report up to its "Pending migrations" section, or the whole lines that fit in `room`.

    The cut never leaves a code fence or a `<details>` open: what is open at the cut is
    closed. Only the template writes fences and `<details>` at the start of a line (the
    project's text is escaped or inside a fence), so tracking line starts is exact.
    """
    kept: list[str] = []
    size, fence, details = 0, "", 0  # characters kept, the open fence, open <details>
    for line in markdown.splitlines(keepends=True):
        if not fence and line.startswith("### Pending migrations"):
            break
        after = _after(line, fence, details)
        if size + len(line) + len(_closing(*after)) > room:
            break
        kept.append(line)
        size += len(line)
        fence, details = after
    return "".join(kept).rstrip("\n") + _closing(fence, details)


def _after(line: str, fence: str, details: int) -> tuple[str, int]:
    """Return the open fence and the `<details>` depth after `line`."""
    stripped = line.strip()
    if fence:
        return ("" if set(stripped) == {"`"} and len(stripped) >= len(fence) else fence), details
    if match := _FENCE.match(line):
        return match.group(1), details
    return "", details + line.startswith("<details>") - (stripped == "</details>")


def _closing(fence: str, details: int) -> str:
    return (f"\n{fence}" if fence else "") + "\n\n</details>" * details


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
