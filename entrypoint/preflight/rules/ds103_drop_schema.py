from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import DropBehavior

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.sql.nodes import OBJ
from preflight.sql.parse import Statement


class DropSchemaOrDatabase(Rule):
    """DROP SCHEMA or DROP DATABASE deletes everything inside it.

    Why is this bad?
        A whole schema (every table, view and function in it) or a whole database is
        deleted at once; with CASCADE, objects elsewhere that depend on it go too.

    Example:
        DROP SCHEMA reporting CASCADE;

    Use instead:
        Do this by hand, outside migrations, after a backup; if it must be a migration,
        approve the finding with a reason.
    """

    code = "DS103"
    name = "drop-schema-or-database"
    category = Category.DESTRUCTIVE
    severity = Severity.ERROR

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        node = statement.node
        if isinstance(node, ast.DropdbStmt):
            yield self.finding(
                f"DROP DATABASE {node.dbname} deletes the whole database",
                "never drop a database from a migration; do it by hand after a backup",
            )
        elif isinstance(node, ast.DropStmt) and node.removeType == OBJ.OBJECT_SCHEMA:
            for obj in node.objects or ():
                name = obj.sval if isinstance(obj, ast.String) else str(obj)
                cascade = (
                    " and, with CASCADE, whatever depends on it" if node.behavior == DropBehavior.DROP_CASCADE else ""
                )
                yield self.finding(
                    f"DROP SCHEMA {name} deletes every object in it{cascade}",
                    "drop schemas by hand after a backup; approve with a reason if it must stay here",
                )
