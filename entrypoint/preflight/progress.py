"""Progress for the long steps: rich on a terminal, timestamped lines in CI.

The pipeline talks to a `Progress`; the CLI picks the flavour once from whether
stderr is a terminal. Everything printed goes through `secrets.redact`; plain lines (CI
logs) through `escape.log_line` too, as labels carry migration names from the project.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import IO, Protocol

from preflight.escape import log_line
from preflight.secrets import redact


class Progress(Protocol):
    def step(self, label: str, total: int | None = None) -> AbstractContextManager[Step]: ...

    def log(self, message: str) -> None: ...


class Step(Protocol):
    def advance(self, detail: str = "") -> None: ...


class _PlainStep:
    def __init__(self, log: PlainProgress, label: str, total: int | None) -> None:
        self._log, self._label, self._total, self._done = log, label, total, 0

    def advance(self, detail: str = "") -> None:
        self._done += 1
        of = f" {self._done}/{self._total}" if self._total else ""
        self._log.log(f"{self._label}{of}{': ' + detail if detail else ''}")


class PlainProgress:
    """Timestamped log lines, for CI logs and pipes."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream or sys.stderr
        self._start = time.monotonic()

    def log(self, message: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        self._stream.write(f"{stamp} preflight: {log_line(redact(message))}\n")
        self._stream.flush()

    @contextmanager
    def step(self, label: str, total: int | None = None) -> Iterator[_PlainStep]:
        started = time.monotonic()
        self.log(f"{label} ...")
        yield _PlainStep(self, label, total)
        self.log(f"{label} done in {time.monotonic() - started:.2f}s")


class _RichStep:
    def __init__(self, progress: object, task: object) -> None:
        self._progress, self._task = progress, task

    def advance(self, detail: str = "") -> None:
        self._progress.update(self._task, advance=1, detail=redact(detail))  # type: ignore[attr-defined]


class RichProgress:
    """Spinners and bars on a terminal."""

    def __init__(self) -> None:
        from rich.console import Console

        self._console = Console(stderr=True)

    def log(self, message: str) -> None:
        self._console.log(redact(message), markup=False)

    @contextmanager
    def step(self, label: str, total: int | None = None) -> Iterator[_RichStep]:
        from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichBar

        columns = [SpinnerColumn(), TextColumn("{task.description}")]
        if total:
            columns += [BarColumn(), MofNCompleteColumn()]
        columns += [TimeElapsedColumn(), TextColumn("{task.fields[detail]}")]
        with RichBar(*columns, console=self._console, transient=False) as bar:
            task = bar.add_task(redact(label), total=total, detail="")
            yield _RichStep(bar, task)
            if total:
                bar.update(task, completed=total)


class QuietProgress:
    """No output at all (tests, --quiet)."""

    def log(self, message: str) -> None:
        pass

    @contextmanager
    def step(self, label: str, total: int | None = None) -> Iterator[_PlainStep]:
        yield _PlainStep(self, label, total)  # type: ignore[arg-type]


def for_stream(stream: IO[str], quiet: bool = False) -> Progress:
    """Pick rich on a terminal, plain lines otherwise."""
    if quiet:
        return QuietProgress()
    return RichProgress() if stream.isatty() else PlainProgress(stream)


class Timer:
    """Seconds per phase of a run (a phase entered twice adds up), for the report's `timings`."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.phases[name] = round(self.phases.get(name, 0.0) + time.monotonic() - started, 3)
