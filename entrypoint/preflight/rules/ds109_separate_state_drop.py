from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.sql.nodes import AT, OBJ, commands, dotted
from preflight.sql.parse import Statement


class SeparateDatabaseAndStateDrop(Rule):
    """SeparateDatabaseAndState whose database side drops a table or a column.

    Why is this bad?
        The database loses data while Django's model state may say nothing changed,
        so neither `makemigrations` nor a reader of the state operations sees the drop.

    Example:
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL("ALTER TABLE shop_item DROP COLUMN legacy")],
            state_operations=[],
        )

    Use instead:
        Make the drop its own, visible operation (RemoveField / DeleteModel) in a later
        release, or approve the finding with a reason.
    """

    code = "DS109"
    name = "separate-database-and-state-drop"
    category = Category.DESTRUCTIVE
    severity = Severity.ERROR

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        if not context.operation or context.operation.type != "SeparateDatabaseAndState":
            return
        node = statement.node
        dropped: list[str] = []
        if isinstance(node, ast.DropStmt) and node.removeType == OBJ.OBJECT_TABLE:
            dropped += [f"table {dotted(obj)}" for obj in node.objects or () if not context.is_new(dotted(obj))]
        dropped += [
            f"column {table}.{cmd.name}"
            for table, cmd in commands(node, AT.AT_DropColumn)
            if not context.column_is_new(table, cmd.name)
        ]
        for what in dropped:
            yield self.finding(
                f"SeparateDatabaseAndState drops {what} on the database side, out of sight of the model state",
                "make the drop a visible RemoveField/DeleteModel in a later release, or approve with a reason",
                dropped=what,
            )
