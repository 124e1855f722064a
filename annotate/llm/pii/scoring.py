"""Recall and precision per kind of personal data on a labelled set (``pii_set.jsonl``).

A labelled span is *found* when spans of its kind cover every letter and digit of it (the
placeholder names the right kind and no character of the value survives). A detected span is
*right* when it overlaps a labelled span of its kind. A labelled span is *leaked* when any
letter or digit of it is covered by no span at all, whatever the kind.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annotate.llm.pii import KINDS, Span

SET_PATH = Path(__file__).resolve().parents[3] / "tests" / "data" / "pii" / "pii_set.jsonl"


def load_set(path: Path = SET_PATH) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@dataclass
class KindScore:
    labelled: int = 0
    found: int = 0
    detected: int = 0
    right: int = 0
    misses: list[str] = field(default_factory=list)
    false: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.found / self.labelled if self.labelled else 1.0

    @property
    def precision(self) -> float:
        return self.right / self.detected if self.detected else 1.0


@dataclass
class Score:
    kinds: dict[str, KindScore]
    leaked: list[str]
    items: int


def _covered(text: str, start: int, end: int, spans: Iterable[Span]) -> bool:
    return all(any(s.start <= i < s.end for s in spans)
               for i in range(start, end) if text[i].isalnum())


def score(rows: list[dict[str, Any]], detect: Callable[[str], list[Span]]) -> Score:
    kinds = {kind: KindScore() for kind in KINDS}
    leaked: list[str] = []
    for row in rows:
        text, gold = row["text"], [tuple(s) for s in row["spans"]]
        found = detect(text)
        for start, end, kind in gold:
            value = text[start:end]
            kinds[kind].labelled += 1
            if _covered(text, start, end, [s for s in found if s.kind == kind]):
                kinds[kind].found += 1
            else:
                kinds[kind].misses.append(f"{row['id']}: {value!r}")
            if not _covered(text, start, end, found):
                leaked.append(f"{row['id']}: {kind} {value!r}")
        for span in found:
            kinds[span.kind].detected += 1
            if any(span.start < e and s < span.end and k == span.kind for s, e, k in gold):
                kinds[span.kind].right += 1
            else:
                kinds[span.kind].false.append(
                    f"{row['id']}: {text[span.start:span.end]!r} ({span.source})")
    return Score(kinds, leaked, len(rows))
