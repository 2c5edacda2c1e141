"""How PostgreSQL treats a column type change: lossy or not, table rewrite or not. Pure."""

from __future__ import annotations

import re

INTEGERS = {"smallint": 2, "integer": 4, "bigint": 8}
FLOATS = {"real": 4, "double precision": 8}
CHARACTER = {"character varying", "character", "text"}
TYPE = re.compile(r"^(?P<base>[a-z ]+?)(?:\((?P<mods>[\d,\s]+)\))?(?P<array>\[\])?$")


def split(type_text: str) -> tuple[str, tuple[int, ...]]:
    match = TYPE.match(type_text.strip().lower())
    if not match:
        return type_text.strip().lower(), ()
    mods = tuple(int(m) for m in match.group("mods").split(",")) if match.group("mods") else ()
    return match.group("base").strip() + (match.group("array") or ""), mods


def _precision_scale(mods: tuple[int, ...]) -> tuple[int, int]:
    """numeric(p) means numeric(p, 0)."""
    return mods[0], mods[1] if len(mods) > 1 else 0


def _length(base: str, mods: tuple[int, ...]) -> int | None:
    """Character limit, None for unbounded (text, varchar without a limit)."""
    if base == "text" or not mods:
        return None if base != "character" else (mods[0] if mods else 1)
    return mods[0]


def lossy(old: str, new: str) -> str | None:
    """Return why changing `old` to `new` can lose data, or None when it cannot."""
    old_base, old_mods = split(old)
    new_base, new_mods = split(new)
    if old_base in CHARACTER and new_base in CHARACTER:
        before, after = _length(old_base, old_mods), _length(new_base, new_mods)
        if after is not None and (before is None or after < before):
            return f"values longer than {after} characters are cut or rejected"
        return None
    if old_base == "numeric" and new_base == "numeric":
        if not new_mods:
            return None
        if not old_mods:
            return f"numbers beyond numeric({','.join(map(str, new_mods))}) are rounded or rejected"
        (old_p, old_s), (new_p, new_s) = _precision_scale(old_mods), _precision_scale(new_mods)
        if new_s < old_s:
            return f"decimal places beyond {new_s} are rounded away"
        if new_p - new_s < old_p - old_s:
            return f"numbers with more than {new_p - new_s} integer digits are rejected"
        return None
    if old_base in INTEGERS and new_base in INTEGERS:
        return (
            "values outside the smaller integer range are rejected" if INTEGERS[new_base] < INTEGERS[old_base] else None
        )
    if old_base in (*FLOATS, "numeric") and new_base in INTEGERS:
        return "fractions are rounded away"
    if old_base == "double precision" and new_base == "real":
        return "precision beyond 6 digits is rounded away"
    if old_base.startswith("timestamp") and new_base == "date":
        return "the time of day is dropped"
    return None


def rewrites(old: str | None, new: str) -> bool | None:
    """Return whether the change rewrites the table; None when `old` is unknown and it depends."""
    new_base, new_mods = split(new)
    if old is None:
        if new_base in ("text", "character varying") or new_base == "numeric":
            return None
        return True
    old_base, old_mods = split(old)
    if old_base == new_base == "character varying" or (
        old_base in ("character varying", "text") and new_base in ("character varying", "text")
    ):
        before, after = _length(old_base, old_mods), _length(new_base, new_mods)
        return not (after is None or (before is not None and after >= before))
    if old_base == new_base == "numeric":
        if not new_mods:
            return False
        if not old_mods:
            return True
        (old_p, old_s), (new_p, new_s) = _precision_scale(old_mods), _precision_scale(new_mods)
        return not (new_p >= old_p and new_s == old_s)
    return old_base != new_base or old_mods != new_mods


def widens(old: str, new: str) -> bool:
    """Return whether every value of `old` stays the same value, read back the same way, in `new`.

    varchar(n) to varchar(m >= n) or text, a larger integer, numeric with room for as many
    integer digits and decimals, real to double precision; or no change at all.
    """
    old_base, old_mods = split(old)
    new_base, new_mods = split(new)
    if (old_base, old_mods) == (new_base, new_mods):
        return True
    varying = {"character varying", "text"}
    if old_base in varying and new_base in varying:
        return lossy(old, new) is None
    if old_base in INTEGERS and new_base in INTEGERS:
        return INTEGERS[new_base] >= INTEGERS[old_base]
    if old_base == new_base == "numeric":
        return lossy(old, new) is None
    return (old_base, new_base) == ("real", "double precision")
