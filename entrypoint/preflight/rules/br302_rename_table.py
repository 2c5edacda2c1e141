from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.sql.nodes import OBJ
from preflight.sql.parse import Statement, relation_name


class RenameTable(Rule):
    """RENAME TO on a table breaks the release that is still running during the deploy.

    Why is this bad?
        The old code queries the old table name until it is replaced; every query
        fails in between. Django emits this for RenameModel and AlterModelTable.

    Example:
        ALTER TABLE "shop_item" RENAME TO "catalog_item";

    Use instead:
        Keep the table name: set `db_table = "shop_item"` in the renamed model's Meta,
        which needs no SQL; or create a view with the old name for one release.
    """

    code = "BR302"
    name = "rename-table"
    category = Category.BREAKING
    severity = Severity.ERROR

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        node = statement.node
        if not isinstance(node, ast.RenameStmt) or node.renameType != OBJ.OBJECT_TABLE:
            return
        table = relation_name(node.relation)
        if context.is_new(table):
            return
        yield self.finding(
            f"renaming table {table} to {node.newname} breaks the running release, which still uses {table}",
            f'keep the table name with Meta.db_table = "{table}", or bridge one release with a view',
            table=table,
            new_name=node.newname,
        )
