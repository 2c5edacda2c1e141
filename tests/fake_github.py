"""A small local HTTP server that speaks GitHub's REST shapes, for the client's tests.

It keeps issues (listed by state and labels, pull requests among them as GitHub lists
them), issue comments, pull requests with labels and label events; paginates with Link
headers that carry the query on; answers 401 to unknown tokens, 403 "Resource not
accessible by integration" to /user for GITHUB_TOKEN-like tokens and to writes with a
read-only token (a fork's, or a job without issues: write), 410 to a new issue where
issues are off, 422 for bodies over 65,536 characters or an issue without a title, and
rate-limits on demand.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

BOT = {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}
TOKENS = {
    "actions-token": BOT,
    "fork-token": BOT,
    "read-token": BOT,  # GITHUB_TOKEN of a job granted contents: read only
    "pat-token": {"login": "octocat", "id": 1, "type": "User"},
}
READ_ONLY = ("fork-token", "read-token")


@dataclass
class State:
    comments: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    pulls: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    events: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    issues: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    issues_disabled: bool = False
    drop_labels: bool = False  # "Only users with push access can set labels for new issues" (silently dropped)
    rate_limited: int = 0  # the next N requests get a secondary rate limit
    requests: list[tuple[str, str]] = field(default_factory=list)
    next_id: int = 1000

    def add_comment(self, repo: str, number: int, body: str, user: dict[str, Any]) -> dict[str, Any]:
        self.next_id += 1
        comment = {
            "id": self.next_id,
            "node_id": f"IC_{self.next_id}",
            "body": body,
            "user": user,
            "html_url": f"https://github.com/{repo}/pull/{number}#issuecomment-{self.next_id}",
            "url": f"/repos/{repo}/issues/comments/{self.next_id}",
            "created_at": "2026-11-21T00:00:00Z",
            "updated_at": "2026-11-21T00:00:00Z",
        }
        self.comments.setdefault((repo, number), []).append(comment)
        return comment

    def add_issue(
        self, repo: str, title: str, body: str, user: dict[str, Any], labels: list[str], pull: bool = False
    ) -> dict[str, Any]:
        self.next_id += 1
        number = len(self.issues.get(repo, [])) + 1
        kind = "pull" if pull else "issues"
        issue = {
            "id": self.next_id,
            "node_id": f"I_{self.next_id}",
            "number": number,
            "title": title,
            "body": body,
            "user": user,
            "labels": [{"id": abs(hash(name)) % 10**8, "name": name, "color": "ededed"} for name in labels],
            "state": "open",
            "html_url": f"https://github.com/{repo}/{kind}/{number}",
            "url": f"/repos/{repo}/issues/{number}",
            "created_at": "2026-11-21T00:00:00Z",
            "updated_at": "2026-11-21T00:00:00Z",
        }
        if pull:
            issue["pull_request"] = {"url": f"/repos/{repo}/pulls/{number}"}
        self.issues.setdefault(repo, []).append(issue)
        return issue


class Handler(BaseHTTPRequestHandler):
    state: State
    base: str

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _user(self) -> dict[str, Any] | None:
        auth = self.headers.get("Authorization", "")
        return TOKENS.get(auth.removeprefix("Bearer ").strip())

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def _route(self, method: str) -> None:
        url = urlsplit(self.path)
        self.state.requests.append((method, url.path))
        if self.state.rate_limited:
            self.state.rate_limited -= 1
            return self._send(
                403,
                {"message": "You have exceeded a secondary rate limit."},
                {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + 1), "retry-after": "1"},
            )
        user = self._user()
        if user is None:
            return self._send(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
        token = self.headers["Authorization"].removeprefix("Bearer ").strip()
        if url.path == "/user":
            if token in ("actions-token", "fork-token"):
                return self._send(403, {"message": "Resource not accessible by integration"})
            return self._send(200, user)
        if method != "GET" and token in READ_ONLY:
            return self._send(403, {"message": "Resource not accessible by integration"})
        match = re.fullmatch(r"/repos/([^/]+/[^/]+)/issues(?:/(\d+))?", url.path)
        if match:
            return self._issues(method, match.group(1), match.group(2), url, user)
        match = re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/(\d+)/comments", url.path)
        if match:
            key = (match.group(1), int(match.group(2)))
            if method == "POST":
                body = self._body().get("body", "")
                if len(body) > 65536:
                    return self._unprocessable()
                return self._send(201, self.state.add_comment(*key, body, user))
            return self._page(self.state.comments.get(key, []), url)
        match = re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/comments/(\d+)", url.path)
        if match and method == "PATCH":
            for comments in self.state.comments.values():
                for comment in comments:
                    if comment["id"] == int(match.group(2)):
                        body = self._body().get("body", "")
                        if len(body) > 65536:
                            return self._unprocessable()
                        comment["body"] = body
                        comment["updated_at"] = "2026-11-21T00:01:00Z"
                        return self._send(200, comment)
            return self._send(404, {"message": "Not Found"})
        match = re.fullmatch(r"/repos/([^/]+/[^/]+)/pulls/(\d+)", url.path)
        if match and (match.group(1), int(match.group(2))) in self.state.pulls:
            return self._send(200, self.state.pulls[(match.group(1), int(match.group(2)))])
        match = re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/(\d+)/events", url.path)
        if match:
            return self._page(self.state.events.get((match.group(1), int(match.group(2))), []), url)
        return self._send(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})

    def _issues(self, method: str, repo: str, number: str | None, url: Any, user: dict[str, Any]) -> None:
        issues = self.state.issues.setdefault(repo, [])
        if method == "GET" and number is None:
            query = parse_qs(url.query)
            state = query.get("state", ["open"])[0]
            wanted = {name for name in query.get("labels", [""])[0].split(",") if name}
            listed = [
                issue
                for issue in reversed(issues)  # newest first, as GitHub sorts by default
                if state in ("all", issue["state"]) and wanted <= {label["name"] for label in issue["labels"]}
            ]
            return self._page(listed, url)
        if method == "POST" and number is None:
            if self.state.issues_disabled:
                return self._send(410, {"message": "Issues are disabled for this repo"})
            data = self._body()
            if not data.get("title"):
                return self._send(
                    422,
                    {
                        "message": 'Invalid request.\n\n"title" wasn\'t supplied.',
                        "documentation_url": "https://docs.github.com/rest/issues/issues#create-an-issue",
                    },
                )
            if len(data.get("body") or "") > 65536:
                return self._unprocessable("Issue")
            labels = [] if self.state.drop_labels else data.get("labels") or []
            issue = self.state.add_issue(repo, data["title"], data.get("body") or "", user, labels)
            return self._send(201, issue)
        found = [issue for issue in issues if str(issue["number"]) == number]
        if method == "PATCH" and found:
            data = self._body()
            if len(data.get("body") or "") > 65536:
                return self._unprocessable("Issue")
            found[0].update({k: v for k, v in data.items() if k in ("title", "body", "state")})
            found[0]["updated_at"] = "2026-11-21T00:01:00Z"
            return self._send(200, found[0])
        if method == "GET" and found:
            return self._send(200, found[0])
        return self._send(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})

    def _unprocessable(self, resource: str = "IssueComment") -> None:
        self._send(
            422,
            {
                "message": "Validation Failed",
                "errors": [
                    {
                        "resource": resource,
                        "code": "custom",
                        "field": "body",
                        "message": "body is too long (maximum is 65536 characters)",
                    }
                ],
            },
        )

    def _page(self, items: list[dict[str, Any]], url: Any) -> None:
        query = parse_qs(url.query)
        per_page = min(int(query.get("per_page", ["30"])[0]), 100)
        page = int(query.get("page", ["1"])[0])
        last = max(1, -(-len(items) // per_page))
        rest = {k: v[0] for k, v in query.items() if k not in ("page", "per_page")}  # filters stay on every page
        links = []
        if page < last:
            for rel, number in (("next", page + 1), ("last", last)):
                where = urlencode({**rest, "per_page": per_page, "page": number})
                links.append(f'<{self.base}{url.path}?{where}>; rel="{rel}"')
        headers = {"Link": ", ".join(links)} if links else {}
        self._send(200, items[(page - 1) * per_page : page * per_page], headers)

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PATCH(self) -> None:
        self._route("PATCH")


@contextmanager
def fake_github() -> Iterator[tuple[str, State]]:
    state = State()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    handler = type("BoundHandler", (Handler,), {"state": state, "base": base})
    server.RequestHandlerClass = handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base, state
    finally:
        server.shutdown()
        server.server_close()
