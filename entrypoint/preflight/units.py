"""How Preflight writes sizes, everywhere (reports, findings). Pure."""

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
