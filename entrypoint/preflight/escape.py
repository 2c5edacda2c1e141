"""Make text from the project under review inert where it lands. Pure.

Migration names, file paths, table and column names, SQL, exception messages and test
output are written by whoever opened the pull request. Each function here makes such
text plain text in one context: inline Markdown (`md`), a Markdown code span (`code`,
then `cell` inside a table), a fenced code block (`fenced`), HTML text (`html`), a
Mermaid gantt label (`mermaid`), or one line of a GitHub Actions log (`log_line`, `json_for_log`, `command_data`).

A zero-width space (ZWSP) breaks what GitHub would otherwise act on without changing
what a reader sees: it goes around `@` (mentions, e-mail links), into `://` and `www.`
(autolinks), after `#` before a digit (issue links), and into `##[` and leading `::`
(workflow commands, which the runner looks for in every line it prints).
"""

from __future__ import annotations

import re

ZWSP = "\u200b"

_BACKTICKS = re.compile(r"`+")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Backslash-escaped everywhere: code spans, emphasis, links and images, strikethrough,
# table cells, math. `_` only where it can open or close emphasis (not inside a word),
# so snake_case names read the same in the Markdown source.
_MD_PUNCTUATION = re.compile(r"[\\`*\[\]~|$]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
# What makes a block when it starts a line: heading, quote, list item, rule, setext
# underline (`*`, `_` and backticks are escaped everywhere anyway).
_MD_LINE_START = re.compile(r"^(?:[#>+=-]|(?P<number>\d{1,9})[.)](?=\s|$))")
_AUTOLINK = re.compile(r"(?i)(?<=:)(?=//)|(?<=\bwww)(?=\.)|(?=@)|(?<=@)|(?<=#)(?=\d)")
_MERMAID_UNSAFE = re.compile(r"[^\w. -]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def _one_line(text: object) -> str:
    """Collapse every run of whitespace, line breaks included, to one space."""
    return " ".join(str(text).split())


def _no_runner_command(text: str) -> str:
    """Break `##[`, which the Actions runner takes as a command anywhere in a line."""
    return text.replace("##[", f"##{ZWSP}[")


def _no_links(text: str) -> str:
    return _AUTOLINK.sub(ZWSP, text)


def md(text: object) -> str:
    """Return text as one line of inline Markdown that renders as exactly that text.

    Safe anywhere inline, including a table cell: no HTML, link, image, emphasis, code
    span, heading, list, quote, mention or autolink can come out of it.
    """
    escaped = _one_line(text).replace("&", "&amp;").replace("<", "&lt;")
    escaped = _MD_PUNCTUATION.sub(lambda m: "\\" + m.group(0), escaped)
    escaped = _MD_LINE_START.sub(lambda m: f"{m['number']}\\{m.group(0)[-1]}" if m["number"] else "\\" + m[0], escaped)
    return _no_links(escaped)


def code(text: object) -> str:
    """Return text as a one-line Markdown code span that nothing inside can close early.

    The delimiter is one backtick longer than the longest run inside, padded with a
    space when the text starts or ends with a backtick (CommonMark strips one each side).
    Inside a table cell, pass the result through `cell`.
    """
    content = _no_runner_command(_one_line(text))
    if not content:
        return ""
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(content)), default=0) + 1)
    pad = " " if content.startswith("`") or content.endswith("`") else ""
    return f"{fence}{pad}{content}{pad}{fence}"


def cell(markdown: str) -> str:
    """Escape the pipes of inline Markdown (a `code` span) so it stays in one table cell.

    GFM splits a row at every unescaped `|` before it parses code spans, and turns `\\|`
    back into `|` inside them.
    """
    return markdown.replace("|", "\\|")


def fenced(text: object, info: str = "") -> str:
    """Return text as a fenced code block whose fence no line of it can close.

    The fence is one backtick longer than the longest run anywhere in the text (at
    least three). Lines that would be workflow commands if this Markdown were printed to
    an Actions log get a ZWSP in front. The block must start at column 0, outside lists.
    """
    lines = _LINE_BREAK.split(_no_runner_command(str(text)))
    body = "\n".join(ZWSP + line if line.lstrip().startswith("::") else line for line in lines)
    fence = "`" * max(3, max((len(run) for run in _BACKTICKS.findall(body)), default=0) + 1)
    return f"{fence}{info}\n{body}\n{fence}"


def html(text: object) -> str:
    """Return text as one line of HTML text (inside `<summary>`, `<code>`): entities only.

    One line, because a blank line would end the HTML block and start Markdown.
    """
    escaped = _one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return _no_runner_command(_no_links(escaped))


def mermaid(text: object, line_start: bool = False) -> str:
    """Return text as a label inside a Mermaid gantt: letters, digits, `_.- ` only.

    No `:` `;` `#` `%` `{` or line break survives, so nothing can end the task, start a
    comment or an `%%{init}` directive. With `line_start`, a label that does not start
    with a digit gets a ZWSP in front, so it cannot read as a keyword (`click`, `title`,
    `section`, ...) or a date.
    """
    label = _one_line(_MERMAID_UNSAFE.sub(" ", str(text)))
    if line_start and (not label[:1].isdigit() or re.match(r"\d{4}-", label)):
        return ZWSP + label
    return label


def log_line(text: object) -> str:
    """Return text as one line of a CI log that cannot start a workflow command.

    Line breaks and other control characters are shown escaped (`\\n`), `##[` is broken,
    and a line that would start with `::` gets a ZWSP in front.
    """
    line = _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), str(text))
    line = _no_runner_command(line.replace("\n", "\\n").replace("\t", " "))
    return ZWSP + line if line.lstrip().startswith("::") else line


def json_for_log(document: str) -> str:
    """Return JSON text that cannot start a workflow command when printed to a CI log.

    Indented JSON never has a line starting with `::`, and `##[` can only be inside a
    string, where `\\u005b` reads back as the same `[`.
    """
    return document.replace("##[", "##\\u005b")


def command_data(text: str) -> str:
    """Escape the message of a workflow command (`::error ...::message`), as GitHub documents."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def command_property(text: str) -> str:
    """Escape a property value of a workflow command (`file=...`, `title=...`)."""
    return command_data(text).replace(":", "%3A").replace(",", "%2C")
