"""What every reader gets: the file, the project's schema and where to note skipped answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from annotate.io.importing.records import Skipped
from annotate.kinds.schema import LabelSchema


@dataclass
class ReadContext:
    path: Path
    schema: LabelSchema
    skipped: Skipped = field(default_factory=Skipped)
    stem: str = field(init=False)
    where: Callable[[int], str] | None = None
    """How a reader whose records are not lines names record ``n`` in messages (e.g. "task 3
    (id 17)" in a Label Studio JSON array); None: by its line number."""

    def __post_init__(self) -> None:
        self.stem = self.path.stem

    def fallback_id(self, line: int) -> str:
        """The id of an item the file gives none: stable for the same file and line."""
        return f"{self.stem}-{line}"

    def place(self, line: int) -> str:
        """Where record ``line`` is, after ``FILE:`` in a message."""
        return str(line) if self.where is None else self.where(line)
