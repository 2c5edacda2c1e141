"""A small GitHub REST client on httpx: issues, issue comments, pull requests, label events.

It follows Link-header pagination, waits out rate limits (retry-after, or
x-ratelimit-reset when x-ratelimit-remaining is 0) a bounded number of times, and
turns 401/403/404/410/422 into errors that say what to do. The token never appears in an
error (secrets.redact).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from preflight import secrets
from preflight.errors import PreflightError, UsageError

MAX_WAIT_S = 60.0
RETRIES = 3
BOT_LOGIN = "github-actions[bot]"  # who GITHUB_TOKEN comments as

if TYPE_CHECKING:
    import httpx


class GitHubError(PreflightError):
    """GitHub refused or failed a request."""


class ForbiddenError(GitHubError):
    """403: typically a pull request from a fork, whose token is read-only."""


class GoneError(GitHubError):
    """410: the repository has issues turned off."""


class GitHub:
    def __init__(
        self, api_url: str, token: str, client: httpx.Client | None = None, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        # httpx is imported here, not at the top: every run imports this module, few talk to GitHub,
        # and importing httpx takes 0.15 s of the start-up.
        import httpx

        secrets.register(token)
        self.http = client or httpx.Client(timeout=30.0)
        self.api_url = api_url.rstrip("/")
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "preflight",
        }
        self.sleep = sleep

    def request(self, method: str, path_or_url: str, **kwargs: Any) -> httpx.Response:
        import httpx

        url = path_or_url if path_or_url.startswith("http") else f"{self.api_url}{path_or_url}"
        for attempt in range(RETRIES + 1):
            try:
                response = self.http.request(method, url, headers=self.headers, **kwargs)
            except httpx.HTTPError as exc:
                raise GitHubError(
                    f"cannot reach the GitHub API at {self.api_url}: {exc}",
                    "check GITHUB_API_URL and the runner's network",
                ) from None
            wait = self._rate_limited(response)
            if wait is None or attempt == RETRIES:
                return self._checked(response, method, url)
            self.sleep(wait)
        raise AssertionError("unreachable")

    @staticmethod
    def _rate_limited(response: httpx.Response) -> float | None:
        """Seconds to wait when GitHub says to slow down, else None."""
        if response.status_code not in (403, 429):
            return None
        if "retry-after" in response.headers:
            return min(float(response.headers["retry-after"]), MAX_WAIT_S)
        if response.headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in response.headers:
            return min(max(float(response.headers["x-ratelimit-reset"]) - time.time(), 1.0), MAX_WAIT_S)
        return None

    @staticmethod
    def _checked(response: httpx.Response, method: str, url: str) -> httpx.Response:
        if response.is_success:
            return response
        try:
            body = response.json()
        except ValueError:
            body = {}
        message = str(body.get("message") or response.reason_phrase)
        details = "; ".join(str(e.get("message") or e.get("code")) for e in body.get("errors") or [] if e)
        what = f"GitHub answered {response.status_code} to {method} {urlsplit(url).path}: {message}"
        what = secrets.redact(f"{what} ({details})" if details else what)
        if response.status_code == 403:
            raise ForbiddenError(
                what,
                "a pull request from a fork gets a read-only token: use the two-phase "
                "workflow (docs/workflows/fork-safe-*.yml), or grant pull-requests: write",
            )
        if response.status_code == 401:
            raise UsageError(what, "check the github-token input")
        if response.status_code == 410:
            raise GoneError(what, "turn on issues in the repository's settings")
        if response.status_code == 404:
            raise GitHubError(what, "check the repository, the pull request number and the token's access")
        raise GitHubError(what, "see the GitHub response above")

    def paginate(self, path: str, per_page: int = 100, **query: str) -> Iterator[dict[str, Any]]:
        """Every item of a list endpoint, following rel="next" Link headers (they carry `query` on)."""
        url: str | None = f"{self.api_url}{path}?{urlencode({**query, 'per_page': per_page})}"
        while url:
            response = self.request("GET", url)
            yield from response.json()
            url = response.links.get("next", {}).get("url")

    # -- endpoints ---------------------------------------------------------------------

    def login(self) -> str:
        """Who this token acts as; GITHUB_TOKEN cannot read /user, and acts as the Actions bot."""
        try:
            return str(self.request("GET", "/user").json()["login"])
        except ForbiddenError:
            return BOT_LOGIN

    def comments(self, repo: str, number: int) -> Iterator[dict[str, Any]]:
        return self.paginate(f"/repos/{repo}/issues/{number}/comments")

    def create_comment(self, repo: str, number: int, body: str) -> dict[str, Any]:
        return dict(self.request("POST", f"/repos/{repo}/issues/{number}/comments", json={"body": body}).json())

    def update_comment(self, repo: str, comment_id: int, body: str) -> dict[str, Any]:
        return dict(self.request("PATCH", f"/repos/{repo}/issues/comments/{comment_id}", json={"body": body}).json())

    def pull(self, repo: str, number: int) -> dict[str, Any]:
        return dict(self.request("GET", f"/repos/{repo}/pulls/{number}").json())

    def label_events(self, repo: str, number: int) -> Iterator[dict[str, Any]]:
        return (e for e in self.paginate(f"/repos/{repo}/issues/{number}/events") if e.get("event") == "labeled")

    def issues(self, repo: str, label: str) -> Iterator[dict[str, Any]]:
        """Open issues carrying `label` (GitHub lists pull requests here too: left out)."""
        items = self.paginate(f"/repos/{repo}/issues", state="open", labels=label)
        return (i for i in items if "pull_request" not in i)

    def create_issue(self, repo: str, title: str, body: str, labels: list[str]) -> dict[str, Any]:
        payload = {"title": title, "body": body, "labels": labels}
        return dict(self.request("POST", f"/repos/{repo}/issues", json=payload).json())

    def update_issue(self, repo: str, number: int, body: str) -> dict[str, Any]:
        return dict(self.request("PATCH", f"/repos/{repo}/issues/{number}", json={"body": body}).json())
