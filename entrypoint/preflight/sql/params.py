"""The driver's placeholders in recorded SQL, turned into parameters PostgreSQL's grammar accepts. Pure."""

from __future__ import annotations

from typing import Any

import pglast

__all__ = ["with_parameters"]


def with_parameters(sql: str) -> str:
    """Turn the driver's %s and %(name)s placeholders into $n parameters the grammar accepts.

    Found with PostgreSQL's scanner, so a % inside a string literal or an operator is kept.
    """
    try:
        tokens = pglast.parser.scan(sql)
    except pglast.parser.ParseError:
        return sql
    pieces, cursor, number = [], 0, 0
    index = 0
    while index < len(tokens):
        token = tokens[index]
        end = _placeholder_end(sql, tokens, index)
        if end is not None:
            number += 1
            pieces += [sql[cursor : token.start], f"${number}"]
            cursor = tokens[end].end + 1
            index = end + 1
            continue
        index += 1
    return "".join([*pieces, sql[cursor:]])


def _placeholder_end(sql: str, tokens: list[Any], index: int) -> int | None:
    """Index of the last token of a placeholder starting at tokens[index], else None."""
    if sql[tokens[index].start : tokens[index].end + 1] != "%":
        return None
    following = [sql[t.start : t.end + 1] for t in tokens[index + 1 : index + 5]]
    adjacent = index + 1 < len(tokens) and tokens[index + 1].start == tokens[index].end + 1
    if adjacent and following[:1] == ["s"]:
        return index + 1
    if adjacent and len(following) == 4 and following[0] == "(" and following[2:] == [")", "s"]:
        return index + 4
    return None
