"""What an agreement report is made of: sections of the HTML page, the JSON numbers and the CSV
tables. The section builders (:mod:`annotate.agreement.report_sections`) fill a
:class:`ReportContent`; :mod:`annotate.agreement.report` writes it to files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from annotate.agreement.aggregate import Method, TieRule


@dataclass
class Section:
    """One block of the HTML page."""

    key: str
    heading: str
    intro: str = ""
    kpis: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    images: list[dict[str, str]] = field(default_factory=list)
    tables: list[dict[str, str]] = field(default_factory=list)
    examples: list[dict[str, Any]] = field(default_factory=list)

    def add_table(self, frame: pd.DataFrame, caption: str = "", index: bool = False) -> None:
        self.tables.append({"caption": caption, "html": html_table(frame, index=index)})

    def add_image(self, data: str, alt: str) -> None:
        self.images.append({"data": data, "alt": alt})


@dataclass
class ReportContent:
    """What the section builders collect: the page, the JSON numbers and the CSV tables."""

    sections: list[Section] = field(default_factory=list)
    numbers: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


@dataclass(frozen=True)
class ReportOptions:
    level: str = "nominal"
    order: Sequence[object] | None = None
    bootstrap: int = 1000
    seed: int = 0
    top_disagreements: int = 20
    tie_rule: TieRule = "unresolved"
    aggregation: Method = "majority"
    """How the final labels are made: majority vote, or Dawid-Skene (votes weighted by each
    annotator's estimated confusion matrix)."""


def html_table(frame: pd.DataFrame, index: bool = False) -> str:
    """An escaped HTML table; missing values (None or NaN) show as empty cells."""
    frame = frame.copy()
    for column in frame.columns[[dtype is np.dtype(object) for dtype in frame.dtypes]]:
        frame[column] = frame[column].where(frame[column].notna(), "")
    return frame.to_html(index=index, border=0, na_rep="", escape=True,
                         float_format=lambda v: f"{v:.3f}")
