from __future__ import annotations

from collections.abc import Iterator

from preflight.probe.protocol import OperationRef
from preflight.rules.base import Category, Context, Finding, Rule, Severity


class RunPythonWithoutReverse(Rule):
    """RunPython without reverse_code cannot be migrated back.

    Why is this bad?
        `migrate app <previous>` stops with IrreversibleError at this operation, so a bad
        release cannot be rolled back with Django.

    Example:
        migrations.RunPython(fill_slugs)

    Use instead:
        Give it a reverse: `RunPython(fill_slugs, clear_slugs)`, or
        `RunPython(fill_slugs, migrations.RunPython.noop)` when there is nothing to undo.
    """

    code = "IR501"
    name = "run-python-without-reverse"
    category = Category.IRREVERSIBLE
    severity = Severity.WARNING

    def check_operation(self, operation: OperationRef, context: Context) -> Iterator[Finding]:
        if operation.type == "RunPython" and not operation.reversible:
            yield self.finding(
                "RunPython has no reverse_code: migrating back stops here with IrreversibleError",
                "pass reverse_code (migrations.RunPython.noop when there is nothing to undo)",
            )
