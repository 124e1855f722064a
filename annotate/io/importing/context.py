"""What every reader gets: the file, the project's schema and where to note skipped answers."""

from __future__ import annotations

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

    def __post_init__(self) -> None:
        self.stem = self.path.stem

    def fallback_id(self, line: int) -> str:
        """The id of an item the file gives none: stable for the same file and line."""
        return f"{self.stem}-{line}"
