from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.sql.nodes import OBJ
from preflight.sql.parse import Statement, relation_name


class RenameColumn(Rule):
    """RENAME COLUMN breaks the release that is still running during the deploy.

    Why is this bad?
        Between the migration and the new code going live, the old code still selects
        and writes the old column name and every such query fails.

    Example:
        ALTER TABLE "customers_customer" RENAME COLUMN "name" TO "full_name";

    Use instead:
        Rename the field in Django but keep the column: `db_column="name"` on the new
        field name needs no SQL at all. Or add the new column, write both, backfill,
        switch reads, and drop the old one in a later release.
    """

    code = "BR301"
    name = "rename-column"
    category = Category.BREAKING
    severity = Severity.ERROR

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        node = statement.node
        if not isinstance(node, ast.RenameStmt) or node.renameType != OBJ.OBJECT_COLUMN:
            return
        table = relation_name(node.relation)
        if context.column_is_new(table, node.subname):
            return
        yield self.finding(
            f"renaming {table}.{node.subname} to {node.newname} breaks the running release, "
            f"which still uses {node.subname}",
            f'keep the column name: rename the field with db_column="{node.subname}", or add-backfill-switch-drop',
            table=table,
            column=node.subname,
            new_name=node.newname,
        )
