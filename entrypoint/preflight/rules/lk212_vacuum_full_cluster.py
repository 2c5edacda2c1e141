from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from preflight.rules.base import Category, Context, Finding, Rule, Severity
from preflight.sql.nodes import has_option
from preflight.sql.parse import Statement, relation_name


class VacuumFullOrCluster(Rule):
    """VACUUM FULL and CLUSTER rewrite the table under an ACCESS EXCLUSIVE lock.

    Why is this bad?
        Nobody can read or write the table until the whole copy is written; and VACUUM
        cannot run inside a transaction at all, so in an atomic migration it fails.

    Example:
        VACUUM FULL "analytics_event";

    Use instead:
        Run maintenance outside migrations, at a quiet time, or use pg_repack, which
        rebuilds a table without holding the exclusive lock for the whole copy.
    """

    code = "LK212"
    name = "vacuum-full-or-cluster"
    category = Category.LOCKING
    severity = Severity.ERROR

    def check(self, statement: Statement, context: Context) -> Iterator[Finding]:
        node = statement.node
        if isinstance(node, ast.VacuumStmt) and node.is_vacuumcmd and has_option(node.options, "full"):
            tables = [relation_name(r.relation) for r in node.rels or ()] or [None]
            for table in tables:
                yield self.finding(
                    f"VACUUM FULL {table or '(every table)'} rewrites it while blocking reads and writes",
                    "run maintenance outside migrations, or use pg_repack",
                    table=table,
                )
        elif isinstance(node, ast.ClusterStmt):
            table = relation_name(node.relation) if node.relation else None
            yield self.finding(
                f"CLUSTER {table or '(every clustered table)'} rewrites it while blocking reads and writes",
                "run maintenance outside migrations, or use pg_repack",
                table=table,
            )
