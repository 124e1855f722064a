"""Per-feature ratings (e.g. a dialogue reply rated for fluency, relevance, ...), bucketed per item.

Input: a long-form frame ``item_id, annotator, ratings`` where ``ratings`` is a mapping
``{feature: value}`` (or its JSON text), optional ``annotator_kind``; and the ordinal scale
of every feature (its values, lowest first). Per item, over the annotators compared:

- a feature *agrees* when every annotator gave it the same value;
- ``full``: every feature agrees;
- ``partial``: not full, but some feature agrees or every feature is within one scale step;
- ``different``: no feature agrees and some feature is more than one step apart.

Only features rated by at least two of the compared annotators count for an item; items
where no feature qualifies are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from annotate.agreement.table import Kind, check_columns, normalise_kinds
from annotate.errors import InvalidInput

Bucket = Literal["full", "partial", "different"]
BUCKETS: tuple[Bucket, ...] = ("full", "partial", "different")


@dataclass(frozen=True)
class RatingComparison:
    n_items: int
    counts: dict[str, int]
    shares: dict[str, float | None]
    per_feature: pd.DataFrame
    per_item: pd.DataFrame
    compared: str


def compare_ratings(frame: pd.DataFrame, scales: Mapping[str, Sequence[object]], *,
                    kinds: tuple[Kind, Kind] | None = None,
                    annotators: Sequence[str] | None = None) -> RatingComparison:
    """Bucket items into full / partial / different agreement on per-feature ratings.

    ``kinds=("human", "llm")`` compares only items rated by both kinds (all annotators of
    those kinds on the item); ``annotators`` restricts to the named annotators.
    """
    long = rating_positions(frame, scales)
    compared = "all annotators"
    if annotators is not None:
        long = long[long["annotator"].isin(list(annotators))]
        compared = ", ".join(annotators)
    if kinds is not None:
        long = _items_with_both_kinds(long, kinds)
        compared = f"{kinds[0]} vs {kinds[1]}"
    per_item = _bucket_items(long)
    counts: dict[str, int] = {b: int((per_item["bucket"] == b).sum()) for b in BUCKETS}
    n = len(per_item)
    shares: dict[str, float | None] = {b: (counts[b] / n if n else None) for b in BUCKETS}
    return RatingComparison(n_items=n, counts=counts, shares=shares,
                            per_feature=_per_feature(long, scales), per_item=per_item,
                            compared=compared)


def rating_positions(frame: pd.DataFrame, scales: Mapping[str, Sequence[object]]) -> pd.DataFrame:
    """One row per (item, annotator, feature) with the value's position on the feature's scale."""
    check_columns(frame, ("item_id", "annotator", "ratings"), "the rating table")
    frame = normalise_kinds(frame)
    has_kind = "annotator_kind" in frame.columns
    rows = []
    for rec in frame.itertuples(index=False):
        ratings = _as_mapping(rec.ratings)
        kind = rec.annotator_kind if has_kind else None
        for feature, value in ratings.items():
            rows.append((rec.item_id, str(rec.annotator), kind, str(feature),
                         _position(scales, str(feature), value)))
    return pd.DataFrame(rows, columns=["item_id", "annotator", "annotator_kind", "feature",
                                       "position"])


def _as_mapping(raw: object) -> Mapping[str, object]:
    if isinstance(raw, Mapping):
        return raw
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"ratings must be a JSON object; got {raw[:60]!r}") from exc
        if isinstance(parsed, dict):
            if isinstance(parsed.get("ratings"), dict):
                return dict(parsed["ratings"])
            return parsed
    if raw is None or (isinstance(raw, float) and np.isnan(raw)):
        return {}
    raise InvalidInput(f"ratings must be a mapping of feature to value; got {raw!r}")


def _position(scales: Mapping[str, Sequence[object]], feature: str, value: object) -> int:
    if feature not in scales:
        raise InvalidInput(f"feature {feature!r} has no scale; known: {', '.join(scales)}")
    keys = [str(v) for v in scales[feature]]
    try:
        return keys.index(str(value))
    except ValueError:
        raise InvalidInput(
            f"value {value!r} of feature {feature!r} is not on its scale {keys}") from None


def _items_with_both_kinds(long: pd.DataFrame, kinds: tuple[Kind, Kind]) -> pd.DataFrame:
    if long["annotator_kind"].isna().all():
        raise InvalidInput("comparing by kind needs an annotator_kind column")
    long = long[long["annotator_kind"].isin(list(kinds))]
    present = long.groupby("item_id")["annotator_kind"].agg(lambda k: set(k) >= set(kinds))
    return long[long["item_id"].isin(present[present].index)]


def _bucket_items(long: pd.DataFrame) -> pd.DataFrame:
    columns = ["item_id", "n_annotators", "n_features", "n_agreeing", "max_spread", "bucket"]
    if long.empty:
        return pd.DataFrame(columns=columns)
    spread = long.groupby(["item_id", "feature"], sort=False)["position"].agg(
        ["min", "max", "count"])
    spread = spread[spread["count"] >= 2]
    if spread.empty:
        return pd.DataFrame(columns=columns)
    gap = spread["max"] - spread["min"]
    per_item = pd.DataFrame({
        "n_features": gap.groupby(level=0, sort=False).size(),
        "n_agreeing": (gap == 0).groupby(level=0, sort=False).sum(),
        "max_spread": gap.groupby(level=0, sort=False).max(),
    })
    n_annotators = long.groupby("item_id", sort=False)["annotator"].nunique()
    per_item["n_annotators"] = n_annotators.reindex(per_item.index)
    full = per_item["n_agreeing"] == per_item["n_features"]
    partial = (per_item["n_agreeing"] > 0) | (per_item["max_spread"] <= 1)
    per_item["bucket"] = np.where(full, "full", np.where(partial, "partial", "different"))
    return per_item.rename_axis("item_id").reset_index()[columns]


def _per_feature(long: pd.DataFrame, scales: Mapping[str, Sequence[object]]) -> pd.DataFrame:
    """Per feature: how often the annotators agree exactly, within one step, and ordinal alpha."""
    from annotate.agreement.alpha import krippendorff_alpha

    rows = []
    for feature, scale in scales.items():
        sub = long[long["feature"] == feature]
        stats = sub.groupby("item_id")["position"].agg(["min", "max", "count"])
        gap = (stats["max"] - stats["min"])[stats["count"] >= 2]
        row: dict[str, object] = {"feature": feature, "n_items": len(gap), "exact_share": None,
                                  "within_one_share": None, "mean_spread": None,
                                  "alpha_ordinal": None}
        if len(gap):
            ratings = sub.rename(columns={"position": "label"})[["item_id", "annotator", "label"]]
            alpha = krippendorff_alpha(ratings, "ordinal", order=list(range(len(scale))))
            row |= {"exact_share": float((gap == 0).mean()),
                    "within_one_share": float((gap <= 1).mean()),
                    "mean_spread": float(gap.mean()), "alpha_ordinal": alpha.value}
        rows.append(row)
    return pd.DataFrame(rows)
