"""Split and parse SQL with PostgreSQL's own grammar (pglast), DO blocks included.

Pure: no database, subprocess or network code. A statement that does not parse is
kept, with its error, so the rules can report it instead of calling it safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pglast
import sqlparse
from pglast import ast

DO_WRAPPER = "CREATE FUNCTION preflight_do() RETURNS void AS $preflight$%s$preflight$ LANGUAGE plpgsql"


@dataclass(frozen=True)
class Statement:
    """One SQL statement: its text and its parse tree (None when it does not parse)."""

    text: str
    node: Any | None
    error: str | None = None
    origin: str = "sql"  # sql | do-block | dynamic

    @property
    def kind(self) -> str:
        return type(self.node).__name__ if self.node is not None else "Unparsed"


def _strip(text: str) -> str:
    """Drop comment-only lines and the trailing semicolon."""
    lines = [line for line in text.strip().splitlines() if line.strip() and not line.strip().startswith("--")]
    return "\n".join(lines).strip().rstrip(";").strip()


NUL = "\x00"
NUL_ERROR = "contains a NUL character, which PostgreSQL rejects (and its parser would stop reading at it)"


def _slices(sql: str) -> list[slice]:
    """Split into statements with PostgreSQL's scanner, which works even where parsing fails.

    The scanner gives up on a token it cannot read (an unterminated quote, "1e") and, as
    C code, stops reading at a NUL character without saying so; sqlparse then splits
    instead, so no statement after the bad one goes unseen.
    """
    if NUL not in sql:
        try:
            return list(pglast.split(sql, with_parser=False, only_slices=True))
        except pglast.parser.ParseError:
            pass
    slices, position = [], 0
    for piece in sqlparse.parse(sql):
        text = str(piece)
        slices.append(slice(position, position + len(text)))
        position += len(text)
    return slices


def _pieces(sql: str) -> list[str]:
    pieces = (sql[piece] for piece in _slices(sql))
    return [piece for piece in pieces if _strip(piece)]


def parse(sql: str) -> list[Statement]:
    """Return every statement in `sql`, with the statements inside DO blocks after each DO."""
    statements: list[Statement] = []
    for piece in _pieces(sql):
        text = _strip(piece)
        if NUL in text:
            statements.append(Statement(text.replace(NUL, "\\0"), None, NUL_ERROR))
            continue
        try:
            nodes = pglast.parse_sql(text)
        except pglast.parser.ParseError as exc:
            statements.append(Statement(text, None, f"syntax error: {exc}"))
            continue
        for raw in nodes:
            statement = Statement(text if len(nodes) == 1 else _slice(text, raw), raw.stmt)
            statements.append(statement)
            if isinstance(raw.stmt, ast.DoStmt):
                statements.extend(do_block(raw.stmt))
    return statements


def parse_with_lines(sql: str) -> tuple[list[Statement], list[int]]:
    """Like `parse`, with the line each statement starts on (a DO block's for its contents)."""
    statements: list[Statement] = []
    lines: list[int] = []
    for piece in _slices(sql):
        text = sql[piece]
        found = parse(text)
        offset = piece.start + _first_code(text)
        statements += found
        lines += [sql.count("\n", 0, offset) + 1] * len(found)
    return statements, lines


def _first_code(text: str) -> int:
    """Offset of the first character that is neither white space nor a -- comment line."""
    position = 0
    for line in text.splitlines(keepends=True):
        if line.strip() and not line.strip().startswith("--"):
            return position + len(line) - len(line.lstrip())
        position += len(line)
    return 0


def _slice(text: str, raw: ast.RawStmt) -> str:
    start = raw.stmt_location or 0
    return text[start : start + raw.stmt_len].strip() if raw.stmt_len else text[start:].strip()


def do_block(node: ast.DoStmt) -> list[Statement]:
    """Return the SQL a DO block runs: its static statements and literal EXECUTE strings."""
    language = next((a.arg.sval for a in node.args or () if a.defname == "language"), "plpgsql")
    body = next((a.arg.sval for a in node.args or () if a.defname == "as"), "")
    if language.lower() != "plpgsql":
        return [Statement(body, None, f"DO block in {language} cannot be checked", origin="do-block")]
    try:
        tree = pglast.parse_plpgsql(DO_WRAPPER % body)
    except pglast.parser.ParseError as exc:
        return [Statement(body, None, f"PL/pgSQL syntax error: {exc}", origin="do-block")]
    found: list[Statement] = []
    _walk_plpgsql(tree, found)
    return found


def _walk_plpgsql(tree: Any, found: list[Statement]) -> None:
    if isinstance(tree, list):
        for item in tree:
            _walk_plpgsql(item, found)
        return
    if not isinstance(tree, dict):
        return
    for key, value in tree.items():
        if key == "PLpgSQL_stmt_execsql":
            query = value["sqlstmt"]["PLpgSQL_expr"]["query"]
            found.extend(_as(parse(query), "do-block"))
            continue
        if key == "PLpgSQL_stmt_dynexecute":
            query = value["query"]["PLpgSQL_expr"]["query"].strip()
            literal = _string_literal(query)
            if literal is None:
                found.append(Statement(query, None, "EXECUTE of a computed string cannot be checked", "dynamic"))
            else:
                found.extend(_as(parse(literal), "dynamic"))
            continue
        _walk_plpgsql(value, found)


def _as(statements: list[Statement], origin: str) -> list[Statement]:
    return [Statement(s.text, s.node, s.error, origin) for s in statements]


def _string_literal(expression: str) -> str | None:
    """Return the value of a plain SQL string literal ('...' or $$...$$), else None."""
    try:
        (raw,) = pglast.parse_sql(f"SELECT {expression}")
    except (pglast.parser.ParseError, ValueError):
        return None
    targets = list(getattr(raw.stmt, "targetList", None) or ())
    if len(targets) == 1 and isinstance(targets[0].val, ast.A_Const) and isinstance(targets[0].val.val, ast.String):
        return str(targets[0].val.val.sval)
    return None


def relation_name(node: ast.RangeVar | None) -> str | None:
    """Return 'table' or 'schema.table' (public is implied) as PostgreSQL folds it."""
    if node is None:
        return None
    schema = node.schemaname
    return node.relname if schema in (None, "public") else f"{schema}.{node.relname}"
