"""A self-contained HTML agreement report, plus CSV and JSON of every number in it.

:func:`write_report` takes plain inputs (the long-form label frame, optional span pairs,
an optional rating frame with its scales) and writes into ``out_dir``:

- ``report.html``: one file, figures embedded as base64 PNG;
- ``numbers.json``: every number shown, grouped by section;
- one CSV per table (``pairwise.csv``, ``groups.csv``, ``per_label.csv`` ...).

``annotate report NAME`` loads these inputs from the database and calls this function.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from annotate.agreement import report_sections as build
from annotate.agreement.aggregate import Method, TieRule
from annotate.agreement.report_content import ReportContent, ReportOptions
from annotate.agreement.serialize import to_jsonable
from annotate.agreement.spans import SpanPair
from annotate.errors import InvalidInput
from annotate.outfile import output_folder, safe_output, write_text


@dataclass(frozen=True)
class ReportFiles:
    out_dir: Path
    html: Path
    json: Path
    csv: tuple[Path, ...]


def write_report(out_dir: Path | str, labels: pd.DataFrame | None = None, *,
                 spans: Iterable[SpanPair] | pd.DataFrame | None = None,
                 ratings: pd.DataFrame | None = None,
                 rating_scales: Mapping[str, Sequence[object]] | None = None,
                 task_kind: str | None = None, level: str = "nominal",
                 order: Sequence[object] | None = None, bootstrap: int = 1000, seed: int = 0,
                 title: str | None = None, top_disagreements: int = 20,
                 tie_rule: TieRule = "unresolved",
                 aggregation: Method = "majority") -> ReportFiles:
    """Write the report for whichever inputs are given; at least one of them is needed.

    ``labels``: long-form ``item_id, annotator, label`` (+ ``annotator_kind``, ``role``,
    ``rationale``, ``text``). ``spans``: ``(item_id, reference, predicted)`` triples or a
    frame with those columns. ``ratings``: ``item_id, annotator, ratings`` with
    ``rating_scales`` ``{feature: [values, lowest first]}``. ``order`` is the label order
    (needed for ordinal text labels).
    """
    if labels is None and spans is None and ratings is None:
        raise InvalidInput("nothing to report: give labels, spans or ratings")
    options = ReportOptions(level=level, order=list(order) if order else None,
                            bootstrap=bootstrap, seed=seed,
                            top_disagreements=top_disagreements, tie_rule=tie_rule,
                            aggregation=aggregation)
    content = ReportContent()
    if labels is not None and not labels.empty:
        build.label_sections(content, labels, options)
    if spans is not None:
        build.span_sections(content, spans)
    if ratings is not None:
        if not rating_scales:
            raise InvalidInput("ratings need rating_scales: {feature: [values, lowest first]}")
        build.rating_sections(content, ratings, rating_scales)
    content.numbers["meta"] = {"task_kind": task_kind, "level": level,
                               "order": options.order, "bootstrap": bootstrap, "seed": seed,
                               "tie_rule": tie_rule, "aggregation": aggregation,
                               "created": datetime.now(UTC).isoformat(timespec="seconds")}
    return write_files(Path(out_dir), content, title or _default_title(task_kind))


def write_files(out_dir: Path, content: ReportContent, title: str) -> ReportFiles:
    """Each file written whole or not at all (:mod:`annotate.outfile`)."""
    output_folder(out_dir)
    csv_paths = []
    for name, table in content.tables.items():
        path = out_dir / f"{name}.csv"
        with safe_output(path) as stream:
            table.to_csv(stream, index=False, lineterminator="\n")
        csv_paths.append(path)
    content.numbers["files"] = sorted(p.name for p in csv_paths)
    json_path = out_dir / "numbers.json"
    write_text(json_path, json.dumps(to_jsonable(content.numbers), indent=2, ensure_ascii=False))
    html_path = out_dir / "report.html"
    write_text(html_path, render_html(content, title))
    return ReportFiles(out_dir=out_dir, html=html_path, json=json_path, csv=tuple(csv_paths))


def render_html(content: ReportContent, title: str) -> str:
    from importlib.resources import files

    from jinja2 import Environment

    template = files("annotate.agreement").joinpath("report.html.j2").read_text(encoding="utf-8")
    env = Environment(autoescape=True)
    meta = content.numbers.get("meta", {})
    line = ", ".join(f"{k}: {v}" for k, v in meta.items()
                     if v not in (None, "", []) and k != "order")
    return env.from_string(template).render(title=title, meta=line, sections=content.sections)


def _default_title(task_kind: str | None) -> str:
    return f"Agreement report ({task_kind})" if task_kind else "Agreement report"
