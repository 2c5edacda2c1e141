"""The probe's answers as the host reads them: versioned records, parsed once at the edge."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OperationRef:
    """The Django operation behind a statement (None for plain SQL files)."""

    index: int
    type: str
    describe: str
    line: int | None
    end_line: int | None
    reversible: bool
