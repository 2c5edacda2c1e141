"""Check text from a project stays text: Markdown as GitHub renders it, log lines as the runner reads them.

Shared by tests/test_injection.py and tests/test_escape.py.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from markdown_it import MarkdownIt

from preflight.escape import ZWSP

ALLOWED_TAGS = {
    "p", "h2", "h3", "ul", "li", "strong", "em", "code", "pre", "table", "thead", "tbody", "tr", "th", "td",
    "details", "summary", "br", "sub", "blockquote", "hr",
}  # fmt: skip
HEADINGS = re.compile(
    r"(✅|⚠️|⛔|❌) Preflight( lint-sql)?: .*|(🔎|⛔|✅) Findings: .*|❌ .* failed on the copy|Pending migrations"
    r"|What production will feel|Round trip|Post-migration tests|SQL|Rollback"
)


def markdown_it() -> MarkdownIt:
    renderer = MarkdownIt("gfm-like", {"html": True, "linkify": True}).enable(["table", "strikethrough"])
    renderer.linkify.set({"fuzzy_link": False})  # GitHub links www. and scheme:// only, not bare domains
    return renderer


class Elements(HTMLParser):
    """Every element of the rendered HTML, `<details>` nesting, and the text outside code."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.open_details = 0
        self.details = 0
        self.in_code = 0
        self.headings: list[str] = []
        self.heading: list[str] | None = None
        self.prose: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "details":
            self.open_details += 1
            self.details += 1
        if tag in ("code", "pre"):
            self.in_code += 1
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.heading = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "details":
            assert self.open_details > 0, "a </details> closes a <details> that was never opened"
            self.open_details -= 1
        if tag in ("code", "pre"):
            self.in_code -= 1
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6") and self.heading is not None:
            self.headings.append("".join(self.heading).strip())
            self.heading = None

    def handle_data(self, data: str) -> None:
        if self.heading is not None:
            self.heading.append(data)
        if not self.in_code:
            self.prose.append(data)


def assert_inert(markdown: str, details: int | None = None) -> list[str]:
    """Render `markdown` as GitHub would and check nothing from the project became markup.

    Returns the contents of its fenced code blocks, ZWSPs removed.
    """
    tokens = markdown_it().parse(markdown)
    html = markdown_it().renderer.render(tokens, markdown_it().options, {})
    elements = Elements()
    elements.feed(html)
    elements.close()
    assert set(elements.tags) <= ALLOWED_TAGS, set(elements.tags) - ALLOWED_TAGS  # no <a>, <img>, <h1>, <del>, ...
    assert elements.open_details == 0, "a <details> is left open"
    if details is not None:
        assert elements.details == details
    assert [h for h in elements.headings if not HEADINGS.fullmatch(h)] == []
    prose = "".join(elements.prose)
    assert not re.search(r"@[A-Za-z0-9]", prose), "an @-mention survived"
    assert not re.search(r"(?i)https?://|www\.", prose), "an autolink survived"
    fences = [t for t in tokens if t.type == "fence"]
    assert {t.info for t in fences} <= {"sql", "sh", "mermaid", ""}
    for fence in fences:
        if fence.info == "mermaid":
            assert_mermaid(fence.content)
    assert runner_commands(markdown) == [], "printed to a log, this Markdown would run workflow commands"
    return [t.content.replace(ZWSP, "").removesuffix("\n") for t in fences]


def assert_mermaid(diagram: str) -> None:
    """Only the lines the template writes; labels of letters, digits and `_.-` (no directive, no click)."""
    label = r"\u200b?[\w.\- ]*"
    line = re.compile(
        rf"gantt|    title .*|    dateFormat x|    axisFormat %S\.%L s|    section {label}"
        rf"|    (?!click|title|section|%%){label} :(crit, )?m\d+(l\d+)?, -?\d+, -?\d+"
    )
    assert [text for text in diagram.splitlines() if not line.fullmatch(text)] == []


def runner_commands(output: str) -> list[tuple[str, str, str]]:
    """The workflow commands the GitHub Actions runner finds in `output`: (name, properties, data).

    A port of actions/runner ActionCommand.TryParseV2 (a line that starts with `::` after
    leading whitespace) and TryParse (`##[name ...]data` anywhere in a line), which the
    runner tries in that order on every line a step prints, stdout and stderr alike.
    """
    found = []
    for line in re.split(r"\r\n|\r|\n", output):
        trimmed = line.lstrip()
        end = trimmed.find("::", 2)
        if trimmed.startswith("::") and end > 0:
            name, _, properties = trimmed[2:end].partition(" ")
            found.append((name, properties, unescape(trimmed[end + 2 :])))
            continue
        start = line.find("##[")
        if start >= 0 and "]" in line[start:]:
            name, _, properties = line[start + 3 : line.index("]", start)].partition(" ")
            found.append((name, properties, line[line.index("]", start) + 1 :]))
    return found


def unescape(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")
