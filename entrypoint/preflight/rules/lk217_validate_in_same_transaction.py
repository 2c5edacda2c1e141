from __future__ import annotations

from collections.abc import Iterator

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.sql.nodes import AT, CONSTR, commands
from preflight.sql.parse import Statement, relation_name


class ValidateInSameTransaction(Rule):
    """VALIDATE CONSTRAINT in the same transaction as its ADD ... NOT VALID holds the ADD's lock.

    Why is this bad?
        NOT VALID exists so that validation runs later under a weaker lock. But a lock is
        held until the transaction commits: when the VALIDATE runs in the transaction that
        added the constraint, the ADD's lock is still held while every row is checked.
        For a foreign key that is SHARE ROW EXCLUSIVE on both tables (writes wait); for a
        CHECK it is ACCESS EXCLUSIVE (reads and writes wait). A Django migration is one
        transaction unless it says `atomic = False`, so both operations in one migration
        are one transaction; so is a SQL file inside BEGIN ... COMMIT or run with
        `--single-transaction`.

    Example:
        BEGIN;
        ALTER TABLE "orders_order" ADD CONSTRAINT "amount_positive" CHECK ("amount" >= 0) NOT VALID;
        ALTER TABLE "orders_order" VALIDATE CONSTRAINT "amount_positive";
        COMMIT;

    Use instead:
        Commit in between: put VALIDATE CONSTRAINT in a separate migration (or after the
        COMMIT), where it only takes SHARE UPDATE EXCLUSIVE and reads and writes go on.
    """

    code = "LK217"
    name = "validate-in-same-transaction"
    category = Category.LOCKING
    severity = Severity.ERROR

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        if context.transaction is None:
            return
        for table, cmd in commands(statement.node, AT.AT_ValidateConstraint):
            added, constraint = context.state.not_valid.get((table or "", cmd.name or ""), (None, None))
            if constraint is None or added != context.transaction:
                continue
            severity = context.locking_severity(table, self.severity)
            if severity is None:
                continue
            if constraint.contype == CONSTR.CONSTR_FOREIGN:
                target = relation_name(constraint.pktable)
                held = f"SHARE ROW EXCLUSIVE on {table} and {target}, blocking writes to both"
            else:
                held = f"ACCESS EXCLUSIVE on {table}, blocking reads and writes"
            yield self.finding(
                f"VALIDATE CONSTRAINT {cmd.name} runs in the transaction that added it NOT VALID: the ADD's lock "
                f"({held}) is held while every row is checked{context.size_note(table)}",
                "commit in between: put VALIDATE CONSTRAINT in a separate migration (or after COMMIT)",
                severity=severity,
                table=table,
                constraint=cmd.name,
                kind="foreign key" if constraint.contype == CONSTR.CONSTR_FOREIGN else "check",
                rows=context.rows(table),
            )
