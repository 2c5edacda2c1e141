"""The squash report's issue: one open issue labelled `preflight-squash`, edited on every run.

Found as the sticky comment is: open, carrying the label, written by this token's user,
and holding the marker the squash template starts with. An issue with the label but
without the marker (or by someone else) is a person's, and is left alone: a new one is
opened beside it rather than overwriting what they wrote. Pure but for the GitHub client
passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from preflight.github.client import GitHub
from preflight.publish.comment import LIMIT, cut

MARKER = "<!-- preflight:squash-report -->"  # the first line of templates/squash.md.j2
LABEL = "preflight-squash"
TITLE = "Preflight: migration squash report"


def fit(markdown: str, summary_url: str | None, limit: int = LIMIT) -> str:
    """Return the issue body: the report, or the lines that fit and a pointer to the rest.

    An issue's body has the comment's limit (65,536 characters); the report starts with
    the marker, so the cut keeps it.
    """
    if len(markdown) <= limit:
        return markdown
    return cut(markdown, summary_url, limit, "issue")


def find(github: GitHub, repo: str, login: str) -> dict[str, Any] | None:
    """Our open issue: labelled, with the marker, written by us; on any page of the list."""
    for issue in github.issues(repo, LABEL):
        if MARKER in (issue.get("body") or "") and (issue.get("user") or {}).get("login") == login:
            return issue
    return None


@dataclass(frozen=True)
class Published:
    url: str
    unlabelled: bool = False  # GitHub dropped the label: the next run will not find this issue


def publish(github: GitHub, repo: str, markdown: str, summary_url: str | None) -> Published:
    """Create the issue, or edit the one there is; return its URL."""
    previous = find(github, repo, github.login())
    body = fit(markdown, summary_url)
    if previous is not None:
        return Published(str(github.update_issue(repo, int(previous["number"]), body)["html_url"]))
    created = github.create_issue(repo, TITLE, body, [LABEL])
    # GitHub silently drops labels a token may not set, rather than refusing the issue.
    labels = {label.get("name") for label in created.get("labels") or []}
    return Published(str(created["html_url"]), unlabelled=LABEL not in labels)
