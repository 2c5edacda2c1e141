from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.sql.nodes import CONSTR, column_list, constraints, index_columns, named
from preflight.sql.parse import Statement, relation_name


class UniqueRunningRelease(Rule):
    """A new unique constraint or unique index on an existing table fails the old release's duplicates.

    Why is this bad?
        The release still running during the deploy does not know the new rule and may
        insert or update rows that share a value; from the moment the constraint exists,
        those writes fail with a unique violation until the new code (which validates it)
        is live. DD401 tells whether duplicates already exist on the copy; this rule is
        about the writes still to come, whatever the size of the table. Not reported for
        tables or columns created earlier in the plan, nor for ADD CONSTRAINT ... USING
        INDEX (the unique index already existed), nor when a unique index or constraint
        the table has (not partial, not dropped earlier in the plan) is on some of the new
        one's columns: every row the new one rejects, the old one rejects already.

    Example:
        ALTER TABLE "customers_customer" ADD CONSTRAINT "customers_customer_email_uniq" UNIQUE ("email");

    Use instead:
        Ship code that prevents the duplicates first (validation, get_or_create, an
        upsert), then add the constraint in a later release. If the running release
        cannot write duplicates, approve the finding with that reason.
    """

    code = "BR307"
    name = "unique-running-release"
    category = Category.BREAKING
    severity = Severity.WARNING

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        node = statement.node
        targets: list[tuple[str | None, tuple[str, ...] | None, str | None]] = []
        if isinstance(node, ast.IndexStmt) and node.unique:
            targets.append((relation_name(node.relation), index_columns(node), node.idxname))
        for table, constraint, column in constraints(node):
            unique = constraint.contype in (CONSTR.CONSTR_UNIQUE, CONSTR.CONSTR_PRIMARY)
            if unique and column is None and not constraint.indexname:
                targets.append((table, column_list(constraint.keys), constraint.conname))
        for table, columns, name in targets:
            if table is None or context.is_new(table) or any(context.column_is_new(table, c) for c in columns or ()):
                continue
            if context.unique_already(table, columns):
                continue  # e.g. UNIQUE (user_id, email) beside UNIQUE (email): nothing new is rejected
            on = f"{table}({', '.join(columns)})" if columns else f"an expression on {table}"
            yield self.finding(
                f"{named('unique', name)} on {on} is new to the running release, which may still write duplicates: "
                "those inserts and updates fail until the new code is live",
                "prevent duplicates in the code in an earlier release, then add the constraint; "
                "approve if the running release cannot write them",
                table=table,
                columns=list(columns) if columns else None,
            )
