"""How Preflight writes sizes and durations, everywhere (reports, findings). Pure."""

from __future__ import annotations


def size(value: int | None) -> str:
    """Bytes in decimal units: 12.3 MB."""
    if value is None:
        return "–"
    amount = float(value)
    for unit in ("B", "kB", "MB", "GB"):
        if amount < 1000 or unit == "GB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1000
    raise AssertionError("unreachable")


def duration(ms: float | None) -> str:
    """Milliseconds as a person reads them: 47 ms, 4.1 s, 2 min 5 s."""
    if ms is None:
        return "–"
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    return f"{int(ms // 60_000)} min {ms % 60_000 / 1000:.0f} s"
