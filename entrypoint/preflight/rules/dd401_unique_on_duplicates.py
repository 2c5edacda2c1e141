from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from preflight.rules.base import AddedColumn, Category, Context, Finding, Rule, Severity
from preflight.sql.nodes import CONSTR, column_list, constraints, index_columns, named, predicate
from preflight.sql.parse import Statement, relation_name


class UniqueOnDuplicates(Rule):
    """A unique constraint or index on columns that already hold duplicates in the copy.

    Why is this bad?
        The migration fails on the first duplicate: the deploy stops halfway (and a
        non-atomic migration leaves what ran before applied). Counted on the copy before
        the pending migrations ran. A column added in the plan with a literal default
        (Django computes `default=uuid.uuid4` once, in Python) gives every existing row
        the same value: unique on it fails as soon as the table has two rows. A partial
        unique index (Django: `UniqueConstraint(condition=...)`) counts the rows its WHERE
        covers.

    Example:
        ALTER TABLE "inventory_item" ADD CONSTRAINT "inventory_item_sku_uniq" UNIQUE ("sku");
        -- with 9 rows sharing 3 SKUs on the copy

    Use instead:
        Fix the duplicates first, in an earlier data migration (or by hand), then add
        the constraint. When the copy is migrated, its run decides: a constraint that
        applied there (an earlier pending migration removed the duplicates) is only info.
    """

    code = "DD401"
    name = "unique-on-duplicates"
    category = Category.DATA_DEPENDENT
    severity = Severity.ERROR

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        node = statement.node
        targets: list[tuple[str | None, tuple[str, ...], str | None]] = []
        where = ""
        if isinstance(node, ast.IndexStmt) and node.unique:
            columns = index_columns(node)
            where = predicate(node)
            if columns:
                targets.append((relation_name(node.relation), columns, node.idxname))
        for table, constraint, column in constraints(node):
            if constraint.contype not in (CONSTR.CONSTR_UNIQUE, CONSTR.CONSTR_PRIMARY):
                continue
            if column is None:
                targets.append((table, column_list(constraint.keys), constraint.conname))
            elif not context.is_new(table):  # inline in ADD COLUMN: the rows get the column's default
                inline = AddedColumn.of(column, False)
                yield from self._shared_default(table or "", column.colname or "", inline, context, constraint.conname)
        for table, columns, name in targets:
            if table is None or context.is_new(table):
                continue
            added = [context.added_to_existing(table, c) for c in columns]
            if len(columns) == 1 and added[0] is not None:
                yield from self._shared_default(table, columns[0], added[0], context, name)
                continue
            if any(context.column_is_new(table, c) for c in columns):
                continue
            if where:
                duplicated = context.facts.duplicates_where.get((table, columns, where))
            else:
                duplicated = context.facts.duplicates.get((table, columns))
            if not duplicated:
                continue
            may_change = context.data_may_change(table)
            caveat = " (an earlier RunPython or RunSQL in the plan may change the data)" if may_change else ""
            within = f" where {where}" if where else ""
            yield self.finding(
                f"{named('unique', name)} on {table}({', '.join(columns)}){within} will fail: {duplicated:,} rows "
                f"on {context.facts.where}{within} share a value{caveat}",
                "remove the duplicates in an earlier migration, then add the constraint",
                severity=Severity.WARNING if caveat else self.severity,
                table=table,
                columns=list(columns),
                constraint=name,
                duplicate_rows=duplicated,
                data_may_change=may_change,
                where=where or None,
            )

    def check_applied(self, finding: Finding) -> Finding:
        """The copy ran it: the constraint did not fail, whatever the catalog said before the plan."""
        facts = finding.facts
        within = f" where {facts['where']}" if facts.get("where") else ""
        on = f"{facts['table']}({', '.join(facts['columns'])}){within}"
        subject = f"{named('unique', facts.get('constraint'))} on {on}"
        if facts.get("shared_default"):
            before = (
                f"the column's default {facts['shared_default']} was to give {facts['duplicate_rows']:,} rows one value"
            )
        else:
            before = f"the copy had {facts['duplicate_rows']:,} duplicate rows before the plan"
        how = "an earlier pending migration removed them" if facts.get("data_may_change") else "they were gone by then"
        return self.applied_note(
            finding,
            f"{subject}: {before}; {how}: the constraint applied on the copy",
            "keep the migration that removes the duplicates ahead of the constraint",
        )

    def _shared_default(
        self, table: str, column: str, added: AddedColumn, context: Context, name: str | None = None
    ) -> Iterator[Finding]:
        """Unique on a column the plan adds with one literal default: every existing row shares it."""
        rows = context.rows(table)
        if not added.constant or added.rewritten or rows is None or rows < 2:
            return
        yield self.finding(
            f"{named('unique', name)} on {table}({column}) will fail: the column is added with the default "
            f"{added.default}, so all {rows:,} existing rows share it",
            "add the column without the unique, give each row its own value in a data migration, then add the "
            "unique constraint",
            table=table,
            columns=[column],
            constraint=name,
            duplicate_rows=rows,
            shared_default=added.default,
        )
