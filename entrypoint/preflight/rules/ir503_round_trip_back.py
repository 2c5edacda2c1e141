from __future__ import annotations

from collections.abc import Iterator

from preflight.evidence.measured import RoundTrip
from preflight.rules.base import Category, Context, Finding, Rule, Severity


class RoundTripBackFails(Rule):
    """Migrating back to the state before the plan failed on the copy.

    Why is this bad?
        If the release has to be rolled back, `migrate app <previous>` stops at this
        migration: an operation without a reverse (IrreversibleError), or a reverse
        that fails on the data. Found by actually migrating the copy back (turn off
        with --no-round-trip).

    Example:
        migrations.RunSQL("UPDATE catalog_product SET sku = upper(sku)")  # no reverse_sql

    Use instead:
        Give every operation a working reverse (reverse_code / reverse_sql, or the
        noop ones when there is nothing to undo), and keep data migrations reversible.
    """

    code = "IR503"
    name = "round-trip-back-fails"
    category = Category.IRREVERSIBLE
    severity = Severity.WARNING

    def check_round_trip(self, trip: RoundTrip, context: Context) -> Iterator[Finding]:
        back = trip.backward
        if back.status == "ok":
            return
        irreversible = back.status == "irreversible"
        yield self.finding(
            f"migrating back stops at {back.migration}: {back.error}"
            if back.migration
            else f"migrating back failed: {back.error}",
            "give every operation a reverse (RunPython.noop / RunSQL.noop when there is nothing to undo)",
            severity=self.severity if irreversible else Severity.ERROR,
            migration=back.migration,
            sqlstate=back.sqlstate,
        )
