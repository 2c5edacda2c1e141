"""Each escaping filter, rendered back: the reader sees exactly the text, and nothing else happens."""

from __future__ import annotations

import pytest

from inert import Elements, assert_inert, markdown_it, runner_commands
from preflight import escape
from preflight.escape import ZWSP

HOSTILE = [
    "```",
    "a ``` b `` c ` d",
    "`starts and ends`",
    "</details>",
    "<img src=x>",
    "[Approve](https://x)",
    "![x](https://x/y.png)",
    "@org/team and a@b.com",
    "www.example.com https://x <https://x>",
    "# Owned",
    "1. item",
    "- item",
    "> quote",
    "*em* _em_ __init__ ~~del~~ $math$",
    "a | b",
    "back\\slash\\",
    "&lt;img&gt; &amp;",
    "line\nbreak\r\n::add-mask::z\r##[add-mask]w",
    "#1 and org/repo#2",
]


def one_line(text: str) -> str:
    return " ".join(text.split())


def shown(markdown: str) -> str:
    """The text a reader sees when `markdown` is rendered (one paragraph)."""
    elements = Elements()
    elements.feed(markdown_it().render(markdown))
    assert set(elements.tags) <= {"p", "code", "table", "thead", "tbody", "tr", "th", "td"}, elements.tags
    return "".join(elements.prose).replace(ZWSP, "").strip()


@pytest.mark.parametrize("text", HOSTILE)
def test_md_shows_the_text_and_nothing_else(text: str) -> None:
    rendered = escape.md(text)
    assert shown(rendered) == one_line(text)
    assert_inert(rendered)
    table = markdown_it().parse(f"| a |\n|---|\n| {rendered} |")
    cells = [t for t in table if t.type == "inline"][1:]  # one cell, whatever the pipes
    assert [shown(cell.content) for cell in cells] == [one_line(text)]


@pytest.mark.parametrize("text", HOSTILE)
def test_code_is_one_span_holding_the_text(text: str) -> None:
    for markdown in (f"x {escape.code(text)} y", f"| a |\n|---|\n| {escape.cell(escape.code(text))} |"):
        spans = [
            t.content
            for block in markdown_it().parse(markdown)
            for t in block.children or []
            if t.type == "code_inline"
        ]
        assert [span.replace(ZWSP, "") for span in spans] == [one_line(text)]
        assert_inert(markdown)


@pytest.mark.parametrize("text", [*HOSTILE, "```\n````\n   `````  \n~~~", "x\n```sql\ny"])
def test_fenced_block_closes_only_where_it_ends(text: str) -> None:
    markdown = f"before\n\n{escape.fenced(text, 'sql')}\n\n<details><summary>s</summary>\n\nafter\n\n</details>\n"
    (fence,) = [t for t in markdown_it().parse(markdown) if t.type == "fence"]
    assert fence.info == "sql"
    assert fence.content.replace(ZWSP, "") == text.replace("\r\n", "\n").replace("\r", "\n") + "\n"
    assert_inert(markdown, details=1)


@pytest.mark.parametrize("text", HOSTILE)
def test_html_text_stays_in_its_summary(text: str) -> None:
    markdown = f"<details><summary><code>{escape.html(text)}</code></summary>\n\nbody\n\n</details>\n"
    elements = Elements()
    elements.feed(markdown_it().render(markdown))
    assert elements.tags == ["details", "summary", "code", "p"] and elements.open_details == 0
    assert_inert(markdown, details=1)


@pytest.mark.parametrize(
    "text", ["click m1 href javascript:alert(1)", "%%{init: {'theme': 'dark'}}%%", "title x", "2024-01-01", "a\n```"]
)
def test_mermaid_labels_are_never_keywords_or_directives(text: str) -> None:
    label = escape.mermaid(text, line_start=True)
    assert label.startswith(ZWSP) and set(label[1:]) <= set("abcdefghijklmnopqrstuvwxyz0123456789_.- ")
    assert escape.mermaid("0001_initial", line_start=True) == "0001_initial"
    assert escape.mermaid("orders_orderline") == "orders_orderline"


@pytest.mark.parametrize("text", [*HOSTILE, "  ::set-output name=x::y", "\x1b[31mred", "a\u2028::add-mask::z"])
def test_log_line_is_one_line_that_runs_nothing(text: str) -> None:
    line = escape.log_line(text)
    assert "\n" not in line and "\r" not in line and runner_commands(line) == []


def test_json_printed_to_a_log_runs_nothing() -> None:
    import json

    document = json.dumps({"sql": "x\n::add-mask::z\n##[add-mask]w", "list": ["::set-output name=a::b"]}, indent=2)
    safe = escape.json_for_log(document)
    assert runner_commands(document) != [] and runner_commands(safe) == []
    assert json.loads(safe) == json.loads(document)
