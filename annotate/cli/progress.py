"""Progress of a long command, on stderr only (stdout stays clean for ``--json``).

Three ways to show it, chosen once per command by :func:`command_progress`:

- on a terminal: a live rich display (a spinner per phase, a bar per count), gone when done;
- in a log (stderr not a terminal): a plain line for each phase that lasts ``LOG_AFTER``
  seconds or more, and a count line at most every ``LOG_EVERY`` seconds, so a log is never
  silent for minutes. Quick commands and quick failures stay as they are: a failure the user
  can fix is still one line (the error contract);
- with ``annotate --quiet``: nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Literal

import typer
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from annotate.cli.common import CliState, console, progress_enabled

Mode = Literal["live", "lines", "off"]
LOG_AFTER = 5.0  # seconds a phase lasts before a log hears of it
LOG_EVERY = 10.0  # seconds between two count (or status) lines of one counter in a log


def progress_mode(ctx: typer.Context) -> Mode:
    """``live`` on a terminal, ``lines`` in a log, ``off`` with ``--quiet``."""
    if progress_enabled(ctx):
        return "live"
    state = ctx.find_root().obj
    return "off" if isinstance(state, CliState) and state.quiet else "lines"


class CommandProgress:
    """What a long command reports: ``phase`` (a step begins), ``count`` (N of TOTAL done),
    ``status`` (a passing detail). Use it as a context manager (a log's pending line is
    dropped at the end)."""

    def __init__(self, command: str, mode: Mode, live: Progress | None = None) -> None:
        self.command = command
        self.mode = mode
        self._live = live
        self._phase: TaskID | None = None
        self._counts: dict[str, TaskID] = {}
        self._started = time.monotonic()
        self._logged: dict[str, float] = {}
        self._pending: threading.Timer | None = None

    def __enter__(self) -> CommandProgress:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._cancel_pending()

    def phase(self, text: str) -> None:
        if self._live is not None:
            if self._phase is not None:
                self._live.remove_task(self._phase)
            self._phase = self._live.add_task(f"{self.command}: {text}", total=None)
        elif self.mode == "lines":
            self._cancel_pending()
            if LOG_AFTER <= 0:
                self._line(text)
                return
            self._pending = threading.Timer(LOG_AFTER, self._line, (text,))
            self._pending.daemon = True
            self._pending.start()

    def status(self, text: str) -> None:
        if self._live is not None:
            if self._phase is None:
                self.phase(text)
            else:
                self._live.update(self._phase, description=f"{self.command}: {text}")
        elif self.mode == "lines" and self._due("status"):
            self._line(text)

    def count(self, label: str, done: int, total: int | None = None) -> None:
        if self._live is not None:
            if label not in self._counts:
                self._counts[label] = self._live.add_task(f"{self.command}: {label}",
                                                          total=total)
            self._live.update(self._counts[label], completed=done, total=total)
        elif self.mode == "lines" and self._due(label, last=done == total):
            self._line(f"{label} {done:,}" + (f"/{total:,}" if total is not None else ""))

    def _due(self, key: str, *, last: bool = False) -> bool:
        """``LOG_EVERY`` seconds since the start or since ``key``'s last line; the last count
        of a counter a log has already seen."""
        now = time.monotonic()
        seen = key in self._logged
        if (last and seen) or now - self._logged.get(key, self._started) >= LOG_EVERY:
            self._logged[key] = now
            return True
        return False

    def _cancel_pending(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    def _line(self, text: str) -> None:
        console.print(f"{self.command}: {text}", markup=False, highlight=False, soft_wrap=True)


class _Count(ProgressColumn):
    """``done/total`` of a count; nothing for a phase (which has no total)."""

    def render(self, task: Task) -> Text:
        if task.total is None:
            return Text(f"{task.completed:,.0f}" if task.completed else "")
        return Text(f"{task.completed:,.0f}/{task.total:,.0f}", style="progress.download")


@contextmanager
def command_progress(ctx: typer.Context, command: str) -> Iterator[CommandProgress]:
    """The progress reporter of one command (see the module docstring for what it shows)."""
    mode = progress_mode(ctx)
    if mode != "live":
        with CommandProgress(command, mode) as progress:
            yield progress
        return
    with Progress(SpinnerColumn(), TextColumn("{task.description}", markup=False),
                  BarColumn(), _Count(), TimeElapsedColumn(), console=console,
                  transient=True) as live:
        yield CommandProgress(command, mode, live)
