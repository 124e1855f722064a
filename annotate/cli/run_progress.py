"""Progress of `annotate run` and `annotate demo` on stderr, so nobody stares at a silent
terminal: a live bar on a terminal; otherwise (a pipe, a log file, CI) a plain line per phase
and a counter line at most every :data:`LINE_EVERY_S` seconds; nothing with ``--quiet``.

Rich's live displays (bars, the status spinner) draw nothing when stderr is not a terminal,
which is why `annotate demo | tee log` printed nothing for the ~100 s the model worked.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from annotate.cli.common import CliState, console, progress_enabled

LINE_EVERY_S = 5.0


class Counter(Protocol):
    def __call__(self, done: int, info: str = "") -> None: ...


class RunProgress:
    """Phase lines and one counter, in the mode the command line asked for."""

    def __init__(self, ctx: typer.Context) -> None:
        state = ctx.find_root().obj
        self.quiet = isinstance(state, CliState) and state.quiet
        self.live = progress_enabled(ctx)

    def phase(self, text: str) -> None:
        """One line saying what the command is doing now."""
        if not self.quiet:
            console.print(f"{text}...", highlight=False, soft_wrap=True, markup=False)

    @contextmanager
    def counter(self, label: str, total: int) -> Iterator[Counter]:
        """``update(done, info)`` as work is done; ``total`` may grow (tasks beget tasks)."""
        if self.quiet:
            yield lambda done, info="": None
        elif self.live:
            with _bar(label, total) as update:
                yield update
        else:
            yield _Lines(label, total)


class _Lines:
    """A plain line at most every LINE_EVERY_S seconds (the first one at once)."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total = label, total
        self.last = 0.0

    def __call__(self, done: int, info: str = "") -> None:
        now = time.monotonic()
        if now - self.last < LINE_EVERY_S:
            return
        self.last = now
        self.total = max(self.total, done)
        console.print(f"{self.label}: {done}/{self.total} tasks" + (f" ({info})" if info else ""),
                      highlight=False, soft_wrap=True, markup=False)


@contextmanager
def _bar(label: str, total: int) -> Iterator[Counter]:
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[info]}", markup=False), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        bar = progress.add_task(escape(label), total=total or None, info="")
        seen = {"total": total}

        def update(done: int, info: str = "") -> None:
            seen["total"] = max(seen["total"], done)
            progress.update(bar, completed=done, total=seen["total"], info=info)

        yield update
