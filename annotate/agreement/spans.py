"""Span (NER) comparison of predicted entities against reference entities, with an error taxonomy.

Spans are ``{start, end, label}`` mappings: character offsets, ``end`` exclusive (extra
keys such as ``text`` are ignored). Per item, references and predictions are matched one
to one, in this order of preference:

1. ``exact``: same start, end and label;
2. ``type_confusion``: same start and end, another label ("names understood differently");
3. overlapping spans, same label first, then the largest overlap:
   ``over_extended`` (the prediction strictly contains the reference),
   ``under_extended`` (the prediction lies strictly inside the reference) or
   ``crossing`` (they overlap, each with a part outside the other);
4. what is left: a reference is ``missed`` (no prediction overlaps it: "the LLM lost the
   entity"); a prediction is ``spurious`` when it overlaps no reference, and
   ``extra_overlap`` when it only overlaps references already matched (e.g. a name split
   into two predictions).

Every reference gets exactly one of the first six outcomes; every prediction is either
matched or one of the last two. Exact scores count only ``exact``; partial scores count any
overlapping match with the same label.

A failed answer (predicted ``None``: the model's output could not be used) is not dropped:
every reference entity of its item counts as ``missed``, so a model that fails on most items
cannot look good on the few it answered. ``failed_answers`` says how many there were.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import pandas as pd

from annotate.errors import InvalidInput

Outcome = Literal["exact", "type_confusion", "over_extended", "under_extended", "crossing",
                  "missed", "spurious", "extra_overlap"]
REFERENCE_OUTCOMES: tuple[Outcome, ...] = (
    "exact", "type_confusion", "over_extended", "under_extended", "crossing", "missed")
PREDICTION_ONLY_OUTCOMES: tuple[Outcome, ...] = ("spurious", "extra_overlap")
OUTCOMES: tuple[Outcome, ...] = REFERENCE_OUTCOMES + PREDICTION_ONLY_OUTCOMES
OVERLAP_OUTCOMES = frozenset({"exact", "over_extended", "under_extended", "crossing"})


@dataclass(frozen=True, order=True)
class Span:
    start: int
    end: int
    label: str

    @classmethod
    def from_mapping(cls, raw: Mapping[str, object]) -> Span:
        try:
            start, end, label = raw["start"], raw["end"], raw["label"]
        except (KeyError, TypeError) as exc:
            raise InvalidInput(f"a span needs start, end and label; got {raw!r}") from exc
        if not isinstance(start, int) or not isinstance(end, int) or start < 0 or end <= start:
            raise InvalidInput(f"span offsets must be integers with 0 <= start < end; got {raw!r}")
        return cls(start, end, str(label))

    def overlap(self, other: Span) -> int:
        return max(0, min(self.end, other.end) - max(self.start, other.start))


@dataclass(frozen=True)
class SpanMatch:
    item_id: object
    outcome: Outcome
    reference: Span | None
    predicted: Span | None

    @property
    def same_label(self) -> bool:
        return (self.reference is not None and self.predicted is not None
                and self.reference.label == self.predicted.label)


@dataclass(frozen=True)
class LabelScores:
    """Counts, outcome breakdown and exact/partial precision, recall and F1 for one label."""

    label: str
    n_reference: int
    n_predicted: int
    exact_tp: int
    partial_tp: int
    outcomes: dict[str, int]

    @property
    def exact(self) -> tuple[float | None, float | None, float | None]:
        return _prf(self.exact_tp, self.n_predicted, self.n_reference)

    @property
    def partial(self) -> tuple[float | None, float | None, float | None]:
        return _prf(self.partial_tp, self.n_predicted, self.n_reference)

    def row(self) -> dict[str, object]:
        (ep, er, ef), (pp, pr, pf) = self.exact, self.partial
        return {"label": self.label, "n_reference": self.n_reference,
                "n_predicted": self.n_predicted, "exact_tp": self.exact_tp,
                "partial_tp": self.partial_tp, "exact_precision": ep, "exact_recall": er,
                "exact_f1": ef, "partial_precision": pp, "partial_recall": pr, "partial_f1": pf,
                **{o: self.outcomes.get(o, 0) for o in OUTCOMES}}


@dataclass(frozen=True)
class SpanComparison:
    matches: tuple[SpanMatch, ...]
    overall: LabelScores
    per_label: tuple[LabelScores, ...]
    answers: int = 0  # predicted answers compared, failed ones included
    failed_answers: int = 0  # predicted None: all of the item's references are missed
    failed_references: int = 0  # reference entities on items whose answer failed

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.overall.outcomes)

    @property
    def rates(self) -> dict[str, float | None]:
        """Reference outcomes per reference entity (``missed`` = the share of entities lost);
        ``spurious`` and ``extra_overlap`` per predicted entity."""
        n_ref, n_pred = self.overall.n_reference, self.overall.n_predicted
        out: dict[str, float | None] = {
            o: (self.counts.get(o, 0) / n_ref if n_ref else None) for o in REFERENCE_OUTCOMES}
        for o in PREDICTION_ONLY_OUTCOMES:
            out[o] = self.counts.get(o, 0) / n_pred if n_pred else None
        return out

    def type_confusions(self) -> pd.DataFrame:
        """Reference label x predicted label counts of ``type_confusion`` matches."""
        pairs = Counter((m.reference.label, m.predicted.label) for m in self.matches
                        if m.outcome == "type_confusion" and m.reference and m.predicted)
        return pd.DataFrame([{"reference_label": r, "predicted_label": p, "count": n}
                             for (r, p), n in sorted(pairs.items())],
                            columns=["reference_label", "predicted_label", "count"])

    def scores_frame(self) -> pd.DataFrame:
        return pd.DataFrame([s.row() for s in (*self.per_label, self.overall)])

    def matches_frame(self) -> pd.DataFrame:
        rows = []
        for m in self.matches:
            ref, pred = m.reference, m.predicted
            rows.append({"item_id": m.item_id, "outcome": m.outcome,
                         "ref_start": ref.start if ref else None,
                         "ref_end": ref.end if ref else None,
                         "ref_label": ref.label if ref else None,
                         "pred_start": pred.start if pred else None,
                         "pred_end": pred.end if pred else None,
                         "pred_label": pred.label if pred else None, "same_label": m.same_label})
        return pd.DataFrame(rows)


SpanPair = tuple[object, Sequence[Mapping[str, object]],
                 Sequence[Mapping[str, object]] | None]


def compare_spans(pairs: Iterable[SpanPair] | pd.DataFrame) -> SpanComparison:
    """Compare predictions with references over many items.

    ``pairs`` holds ``(item_id, reference_spans, predicted_spans)`` tuples, or is a frame
    with columns ``item_id, reference, predicted`` holding lists of span mappings;
    ``predicted_spans`` None (or NaN in a frame) is a failed answer: every reference of the
    item is missed.
    """
    if isinstance(pairs, pd.DataFrame):
        missing = {"item_id", "reference", "predicted"} - set(pairs.columns)
        if missing:
            raise InvalidInput(f"span pairs lack column(s) {', '.join(sorted(missing))}")
        rows: Iterable[SpanPair] = zip(pairs["item_id"], pairs["reference"], pairs["predicted"],
                                       strict=True)
    else:
        rows = pairs
    matches: list[SpanMatch] = []
    answers = failed = failed_refs = 0
    for item_id, reference, predicted in rows:
        answers += 1
        given: Sequence[Mapping[str, object]] = []
        if predicted is None or _failed(predicted):
            failed += 1
            failed_refs += len(reference)
        else:
            given = predicted
        matches += match_spans(reference, given, item_id)
    return replace(summarise_matches(matches), answers=answers, failed_answers=failed,
                   failed_references=failed_refs)


def _failed(predicted: object) -> bool:
    return predicted is None or (isinstance(predicted, float) and math.isnan(predicted))


def match_spans(reference: Sequence[Mapping[str, object]],
                predicted: Sequence[Mapping[str, object]],
                item_id: object = None) -> list[SpanMatch]:
    """Match one item's predicted spans to its reference spans (see the module doc)."""
    refs = sorted({Span.from_mapping(s) for s in reference or []})
    preds = sorted({Span.from_mapping(s) for s in predicted or []})
    free_refs, free_preds = set(range(len(refs))), set(range(len(preds)))
    out: list[SpanMatch] = []

    def take(i: int, j: int, outcome: Outcome) -> None:
        free_refs.discard(i)
        free_preds.discard(j)
        out.append(SpanMatch(item_id, outcome, refs[i], preds[j]))

    for same_label in (True, False):
        for i in sorted(free_refs):
            j = next((j for j in sorted(free_preds) if _same_extent(refs[i], preds[j])
                      and (refs[i].label == preds[j].label) == same_label), None)
            if j is not None:
                take(i, j, "exact" if same_label else "type_confusion")
    candidates = sorted(
        (-(refs[i].label == preds[j].label), -refs[i].overlap(preds[j]), i, j)
         for i in free_refs for j in free_preds if refs[i].overlap(preds[j]) > 0)
    for _, _, i, j in candidates:
        if i in free_refs and j in free_preds:
            take(i, j, _boundary_outcome(refs[i], preds[j]))
    out += [SpanMatch(item_id, "missed", refs[i], None) for i in sorted(free_refs)]
    for j in sorted(free_preds):
        touches = any(r.overlap(preds[j]) > 0 for r in refs)
        out.append(SpanMatch(item_id, "extra_overlap" if touches else "spurious", None, preds[j]))
    return out


def summarise_matches(matches: Sequence[SpanMatch]) -> SpanComparison:
    labels = sorted({s.label for m in matches for s in (m.reference, m.predicted) if s})
    per_label = tuple(_scores(matches, label) for label in labels)
    return SpanComparison(matches=tuple(matches), overall=_scores(matches, None),
                          per_label=per_label)


def _scores(matches: Sequence[SpanMatch], label: str | None) -> LabelScores:
    def is_ref(m: SpanMatch) -> bool:
        return m.reference is not None and (label is None or m.reference.label == label)

    def is_pred(m: SpanMatch) -> bool:
        return m.predicted is not None and (label is None or m.predicted.label == label)

    outcomes = Counter(m.outcome for m in matches
                       if (is_ref(m) if m.reference is not None else is_pred(m)))
    return LabelScores(
        label=label if label is not None else "(all)",
        n_reference=sum(is_ref(m) for m in matches),
        n_predicted=sum(is_pred(m) for m in matches),
        exact_tp=sum(m.outcome == "exact" and is_ref(m) for m in matches),
        partial_tp=sum(m.outcome in OVERLAP_OUTCOMES and m.same_label and is_ref(m)
                       for m in matches),
        outcomes={o: outcomes.get(o, 0) for o in OUTCOMES},
    )


def _same_extent(a: Span, b: Span) -> bool:
    return a.start == b.start and a.end == b.end


def _boundary_outcome(ref: Span, pred: Span) -> Outcome:
    if pred.start <= ref.start and pred.end >= ref.end:
        return "over_extended"
    if pred.start >= ref.start and pred.end <= ref.end:
        return "under_extended"
    return "crossing"


def _prf(tp: int, n_pred: int, n_ref: int) -> tuple[float | None, float | None, float | None]:
    precision = tp / n_pred if n_pred else None
    recall = tp / n_ref if n_ref else None
    if precision is None or recall is None:
        return precision, recall, None
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
