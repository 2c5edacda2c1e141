"""One line per migration: what production will feel while it runs. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from preflight.evidence.measured import BLOCKS_READS, BLOCKS_WRITES, Blocked, Lock, Rewrite
from preflight.evidence.row_locks import RowHold
from preflight.units import duration


def feel(
    status: str,
    atomic: bool,
    locks: list[Lock],
    rewrites: list[Rewrite],
    blocked: list[Blocked],
    holds: Sequence[RowHold] = (),
) -> str:
    """Say who waits, on what, for how long (as measured on the copy)."""
    if status == "not_run":
        return "Not run (an earlier migration failed)."
    existing = [lock for lock in locks if not lock.new_in_plan]
    parts = []
    for table in dict.fromkeys(lock.relation for lock in existing):
        mine = [lock for lock in existing if lock.relation == table]
        reads = max((lock.held_ms for lock in mine if lock.mode in BLOCKS_READS), default=None)
        writes = max((lock.held_ms for lock in mine if lock.mode in BLOCKS_WRITES), default=None)
        measured = next((b for b in blocked if b.table == table), None)
        if reads is not None:
            # Both wait: quote the longest wait measured, whichever kind it was.
            longest = max(measured.reads_ms, measured.writes_ms) if measured else 0.0
            parts.append(f"reads and writes on {table} wait up to {duration(reads)}{_seen(longest)}")
        elif writes is not None:
            seen = _seen(measured.writes_ms if measured else 0.0)
            parts.append(f"writes to {table} wait up to {duration(writes)}, reads go on{seen}")
    for hold in holds:
        measured = next((b for b in blocked if b.table == hold.table), None)
        waited = measured.row_writes_ms if measured else 0.0
        seen = f" (a second session's row writes waited {duration(waited)})" if waited else ""
        rows = f"{'up to ' if hold.statements > 1 else ''}{hold.rows:,} row{'s' if hold.rows != 1 else ''}"
        parts.append(f"updates and deletes of {rows} of {hold.table} wait up to {duration(hold.held_ms)}{seen}")
    for rewrite in rewrites:
        if rewrite.kind == "table" and not rewrite.new_in_plan:
            parts.append(f"{rewrite.relation} is rewritten")
    if not parts:
        if status == "failed":
            return "Failed on the copy; no lock on an existing table was measured before the failure."
        if not atomic:
            return "Not atomic: each statement's locks end with it; nothing measured blocks reads or writes."
        return "Nothing blocks reads or writes on existing tables."
    sentence = "; ".join(parts)
    return sentence[0].upper() + sentence[1:] + " (times on the copy)."


def _seen(waited_ms: float) -> str:
    return f" (a second session waited {duration(waited_ms)})" if waited_ms else ""
