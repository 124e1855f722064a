"""The HTML/CSV/JSON report on labels, spans and ratings together."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from annotate.agreement.report import write_report
from annotate.errors import InvalidInput
from tests.agreement.agreement_data import KRIPPENDORFF_2011, long_frame

KINDS = {"A": "human", "B": "human", "C": "llm", "D": "llm"}


def labels() -> pd.DataFrame:
    frame = long_frame(KRIPPENDORFF_2011)
    frame = frame.assign(annotator_kind=frame["annotator"].map(KINDS),
                         rationale="why <b>" + frame["label"].astype(str) + "</b>",
                         text="item text " + frame["item_id"].astype(str))
    decision = pd.DataFrame([{"item_id": 5, "annotator": "lead", "annotator_kind": "human",
                              "label": 3, "role": "adjudicator"}])
    return pd.concat([frame, decision], ignore_index=True)


SPANS = [
    ("s1", [{"start": 0, "end": 5, "label": "PER"}, {"start": 10, "end": 14, "label": "LOC"}],
     [{"start": 0, "end": 7, "label": "PER"}]),
    ("s2", [{"start": 0, "end": 5, "label": "ORG"}], [{"start": 0, "end": 5, "label": "PER"}]),
]
RATINGS = pd.DataFrame([
    {"item_id": 1, "annotator": "h", "annotator_kind": "human", "ratings": {"fluency": 3}},
    {"item_id": 1, "annotator": "m", "annotator_kind": "llm", "ratings": {"fluency": 3}},
    {"item_id": 2, "annotator": "h", "annotator_kind": "human", "ratings": {"fluency": 1}},
    {"item_id": 2, "annotator": "m", "annotator_kind": "llm", "ratings": {"fluency": 3}},
])


def test_full_report(tmp_path: Path) -> None:
    files = write_report(tmp_path / "out", labels(), spans=SPANS, ratings=RATINGS,
                         rating_scales={"fluency": [1, 2, 3]}, task_kind="classification",
                         level="ordinal", order=[1, 2, 3, 4, 5], bootstrap=200, seed=1)
    html = files.html.read_text(encoding="utf-8")
    for heading in ("Overall agreement", "Agreement between annotators", "Per label",
                    "LLM answers against the human majority", "Disagreement examples",
                    "Final labels", "Span comparison", "Per-feature ratings"):
        assert heading in html
    images = dict(re.findall(r'alt="([^"]+)" src="data:image/png;base64,([^"]+)"', html))
    assert set(images) == {"pairwise alpha heatmap", "per-label rates",
                           "human vs LLM confusion matrix", "span error breakdown",
                           "per-label span error rates", "rating buckets"}
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images.values())
    assert not re.search(r'(src|href)="https?:', html)  # self-contained
    assert "why <b>" not in html and "why &lt;b&gt;" in html  # rationales are escaped

    numbers = json.loads(files.json.read_text(encoding="utf-8"))
    assert numbers["summary"]["alpha"] == pytest.approx(0.815, abs=5e-4)
    assert {g["group"] for g in numbers["groups"]} == {"human-human", "human-llm", "llm-llm"}
    assert numbers["spans"]["counts"]["over_extended"] == 1
    assert numbers["spans"]["counts"]["type_confusion"] == 1
    assert numbers["aggregation"]["final_label_sources"]["adjudicator"] == 1
    assert numbers["meta"]["level"] == "ordinal"
    names = {p.name for p in files.csv}
    assert {"pairwise.csv", "groups.csv", "per_label.csv", "human_llm_confusion.csv",
            "disagreements.csv", "final_labels.csv", "annotator_reliability.csv",
            "span_scores.csv", "span_matches.csv", "rating_buckets.csv"} <= names
    assert set(numbers["files"]) == names
    final = pd.read_csv(tmp_path / "out" / "final_labels.csv")
    assert final.set_index("item_id").loc[5, "source"] == "adjudicator"


def test_spans_only_report(tmp_path: Path) -> None:
    files = write_report(tmp_path, spans=SPANS, task_kind="spans")
    html = files.html.read_text(encoding="utf-8")
    assert "Span comparison" in html and "Overall agreement" not in html


def test_nothing_to_report_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        write_report(tmp_path)
