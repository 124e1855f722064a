"""The items people and LLMs disagree on most, with every answer and its rationale.

Items are ranked by the share of disagreeing rating pairs (1 - per-item percent
agreement), then by the spread across the label order when one is given, then by whether
the human majority and an LLM answer differ, then by the number of ratings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from annotate.agreement.table import (
    CodedRatings,
    FloatArray,
    IntArray,
    annotation_rows,
    code_ratings,
)


@dataclass(frozen=True)
class Answer:
    annotator: str
    kind: str | None
    label: object
    rationale: str | None


@dataclass(frozen=True)
class DisagreementExample:
    item_id: object
    disagreement: float
    n_ratings: int
    n_labels: int
    spread: int | None
    human_llm_split: bool | None
    text: str | None
    answers: tuple[Answer, ...]


def disagreement_examples(frame: pd.DataFrame, top: int = 20,
                          order: Sequence[object] | None = None) -> list[DisagreementExample]:
    """The ``top`` items with most disagreement (items everyone agrees on are never listed)."""
    rows = annotation_rows(frame)
    coded = code_ratings(rows, "nominal")
    scores = _scores(coded, order)
    ranked = scores[scores["disagreement"] > 0].sort_values(
        ["disagreement", "spread", "human_llm_split", "n_ratings", "item"],
        ascending=[False, False, False, False, True], kind="stable").head(top)
    top_codes = ranked.index.to_numpy(dtype=np.int64)
    listed = np.flatnonzero(np.isin(coded.item_codes, top_codes))  # only the listed items' rows
    listed_rows, listed_codes = rows.iloc[listed], coded.item_codes[listed]
    examples = []
    for code, score in zip(top_codes, ranked.to_dict("records"), strict=True):
        group = listed_rows[listed_codes == code]
        examples.append(DisagreementExample(
            item_id=coded.items[int(code)], disagreement=float(score["disagreement"]),
            n_ratings=int(score["n_ratings"]), n_labels=int(score["n_labels"]),
            spread=None if pd.isna(score["spread_or_na"]) else int(score["spread_or_na"]),
            human_llm_split=None if pd.isna(score["split_or_na"]) else bool(score["split_or_na"]),
            text=_first_text(group), answers=_answers(group)))
    return examples


def examples_frame(examples: Sequence[DisagreementExample]) -> pd.DataFrame:
    """One row per answer, items in rank order."""
    rows = [{"rank": rank, "item_id": e.item_id, "disagreement": e.disagreement,
             "n_ratings": e.n_ratings, "spread": e.spread, "human_llm_split": e.human_llm_split,
             "text": e.text, "annotator": a.annotator, "annotator_kind": a.kind,
             "label": a.label, "rationale": a.rationale}
            for rank, e in enumerate(examples, start=1) for a in e.answers]
    return pd.DataFrame(rows, columns=["rank", "item_id", "disagreement", "n_ratings", "spread",
                                       "human_llm_split", "text", "annotator", "annotator_kind",
                                       "label", "rationale"])


def _scores(coded: CodedRatings, order: Sequence[object] | None) -> pd.DataFrame:
    """Per item: disagreement share, number of ratings and labels, spread, human-LLM split."""
    counts = coded.value_counts()
    m = counts.sum(axis=1)
    pairs = m * (m - 1)
    agreeing = (counts * (counts - 1)).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        disagreement = np.where(pairs > 0, 1.0 - agreeing / np.where(pairs > 0, pairs, 1), 0.0)
    spread = _spread(coded, order)
    split = _human_llm_split(coded, counts)
    return pd.DataFrame({
        "item": coded.items.astype(str), "disagreement": disagreement, "n_ratings": m,
        "n_labels": (counts > 0).sum(axis=1),
        "spread": np.nan_to_num(spread, nan=-1.0), "spread_or_na": spread,
        "human_llm_split": np.nan_to_num(split, nan=0.0), "split_or_na": split,
    })


def _spread(coded: CodedRatings, order: Sequence[object] | None) -> FloatArray:
    """Steps between the lowest and highest label of each item in ``order`` (NaN without one)."""
    spread = np.full(coded.n_items, np.nan)
    if not order:
        return spread
    rank = {str(o).strip(): i for i, o in enumerate(order)}
    positions = np.array([rank.get(str(label).strip(), -1) for label in coded.domain])
    pos = positions[coded.label_codes]
    known = pos >= 0
    if known.any():
        grouped = pd.Series(pos[known]).groupby(coded.item_codes[known])
        steps = grouped.max() - grouped.min()
        spread[steps.index.to_numpy()] = steps.to_numpy(dtype=float)
    return spread


def _human_llm_split(coded: CodedRatings, counts: IntArray) -> FloatArray:
    """1 where some LLM answer differs from the (unique) human majority, 0 where none does,
    NaN where the item lacks human or LLM answers. No unique human majority counts as 1."""
    split = np.full(coded.n_items, np.nan)
    human = coded.value_counts(coded.kind_mask("human"))
    llm = coded.value_counts(coded.kind_mask("llm"))
    both = (human.sum(axis=1) > 0) & (llm.sum(axis=1) > 0)
    if not both.any():
        return split
    top = human.max(axis=1, keepdims=True)
    unique = (human == top).sum(axis=1) == 1
    winner = human.argmax(axis=1)
    llm_on_winner = llm[np.arange(len(llm)), winner]
    differs = ~unique | (llm_on_winner < llm.sum(axis=1))
    split[both] = differs[both].astype(float)
    return split


def _answers(group: pd.DataFrame) -> tuple[Answer, ...]:
    kinds = group["annotator_kind"] if "annotator_kind" in group.columns else None
    rationales = group["rationale"] if "rationale" in group.columns else None
    out = []
    for i in range(len(group)):
        kind = kinds.iloc[i] if kinds is not None else None
        why = rationales.iloc[i] if rationales is not None else None
        out.append(Answer(annotator=str(group["annotator"].iloc[i]),
                          kind=None if pd.isna(kind) else str(kind),
                          label=group["label"].iloc[i],
                          rationale=None if why is None or pd.isna(why) else str(why)))
    return tuple(out)


def _first_text(group: pd.DataFrame) -> str | None:
    if "text" not in group.columns:
        return None
    texts = group["text"].dropna()
    return str(texts.iloc[0]) if len(texts) else None
