"""Final labels: majority vote (with a stated tie rule) or Dawid-Skene, under human decisions.

Precedence per item: an ``adjudicator`` decision, else a ``moderator`` decision (rows whose
``role`` column says so; the last such row of the frame wins), else the aggregate of the
annotations. The ``source`` column says which one produced each label.

Tie rules for the majority vote:

- ``unresolved`` (default): a tie gives no label; the item is one to send to a moderator.
- ``first_in_order``: the tied label that comes first in ``order`` (or in spelling order).
- ``prefer_human``: the tie is broken by the human votes alone; still tied -> unresolved.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from annotate.agreement.table import DECISION_ROLES, annotation_rows, check_columns, normalise_kinds
from annotate.errors import InvalidInput

TieRule = Literal["unresolved", "first_in_order", "prefer_human"]
TIE_RULES: tuple[str, ...] = ("unresolved", "first_in_order", "prefer_human")
Method = Literal["majority", "dawid_skene"]
METHODS: tuple[str, ...] = ("majority", "dawid_skene")
LABEL_COLUMNS = ["item_id", "label", "source", "support", "n_votes", "tie"]


def majority_vote(frame: pd.DataFrame, tie_rule: TieRule = "unresolved",
                  order: Sequence[object] | None = None) -> pd.DataFrame:
    """``item_id, label, source, support, n_votes, tie``; ``support`` is the winner's vote share."""
    if tie_rule not in TIE_RULES:
        raise InvalidInput(f"unknown tie rule {tie_rule!r}; use one of {', '.join(TIE_RULES)}")
    rows = annotation_rows(frame)
    votes = _vote_counts(rows["item_id"], rows["label"].astype(str))
    votes = votes[_label_order(list(votes.columns), order)]
    top = votes.max(axis=1)
    leaders = votes.eq(top, axis=0)
    tie = leaders.sum(axis=1) > 1
    first_leader = leaders.idxmax(axis=1)  # first tied label in column order
    label = first_leader.where(~tie | (tie_rule == "first_in_order"))
    if tie_rule == "prefer_human":
        label = label.fillna(_human_tie_break(rows, leaders[tie]))
    n_votes = votes.sum(axis=1)
    spelling = dict(zip(rows["label"].astype(str), rows["label"], strict=True))
    out = pd.DataFrame({"item_id": votes.index, "label": label.map(spelling).to_numpy(dtype=object),
                        "source": "majority", "support": (top / n_votes).to_numpy(),
                        "n_votes": n_votes.to_numpy(), "tie": tie.to_numpy()})
    out.loc[out["label"].isna(), "source"] = "unresolved"
    return out[LABEL_COLUMNS].reset_index(drop=True)


def _vote_counts(items: pd.Series, labels: pd.Series) -> pd.DataFrame:
    """``pd.crosstab(items, labels)`` (items and labels sorted) by numpy over their codes."""
    item_codes, item_values = pd.factorize(items, sort=True)
    label_codes, label_values = pd.factorize(labels, sort=True)
    kept = (item_codes >= 0) & (label_codes >= 0)
    width = len(label_values)
    counts = np.bincount(item_codes[kept] * width + label_codes[kept],
                         minlength=len(item_values) * width)
    return pd.DataFrame(counts.reshape(len(item_values), width),
                        index=_inferred(item_values, items.name),
                        columns=_inferred(label_values, labels.name))


def _inferred(values: Any, name: Any) -> pd.Index:
    """An index of ``values`` typed as crosstab's (object values inferred, e.g. as ``str``)."""
    index: pd.Index = pd.Index(values, name=name)
    return index.infer_objects() if index.dtype == object else index


def final_labels(frame: pd.DataFrame, method: Method = "majority",
                 tie_rule: TieRule = "unresolved",
                 order: Sequence[object] | None = None) -> pd.DataFrame:
    """One final label per item: decisions first, then the aggregate of the annotations."""
    check_columns(frame)
    if method == "majority":
        aggregate = majority_vote(frame, tie_rule, order)
    elif method == "dawid_skene" and annotation_rows(frame).empty:  # decisions only
        aggregate = pd.DataFrame(columns=LABEL_COLUMNS)
    elif method == "dawid_skene":
        from annotate.agreement.dawid_skene import dawid_skene

        fit = dawid_skene(frame)
        aggregate = fit.labels.rename(columns={"posterior": "support"}).assign(
            source="dawid_skene", n_votes=np.nan, tie=False)[LABEL_COLUMNS]
    else:
        raise InvalidInput(f"unknown aggregation method {method!r}; use majority or dawid_skene")
    decisions = decision_labels(frame)
    if decisions.empty:
        return aggregate
    merged = aggregate.set_index("item_id")
    merged = merged.reindex(merged.index.union(decisions.index, sort=False))
    merged.loc[decisions.index, ["label", "source"]] = decisions[["label", "source"]].to_numpy()
    merged.loc[decisions.index, "support"] = np.nan
    return merged.rename_axis("item_id").reset_index()[LABEL_COLUMNS]


def decision_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """Per item, the moderator/adjudicator decision that takes precedence (indexed by item)."""
    if "role" not in frame.columns:
        return pd.DataFrame(columns=["label", "source", "decided_by"])
    frame = normalise_kinds(frame).reset_index(drop=True)  # a frame from pd.concat may repeat
    roles = frame["role"].astype("string").str.lower()
    decided = frame[roles.isin(DECISION_ROLES).fillna(False).to_numpy(dtype=bool)
                    & frame["label"].notna().to_numpy()]
    decided = decided.assign(source=roles[decided.index],
                             rank=roles[decided.index].map({"moderator": 0, "adjudicator": 1}))
    decided = decided.reset_index(drop=True).reset_index(names="row")
    best = decided.sort_values(["rank", "row"]).groupby("item_id", sort=False).tail(1)
    return best.set_index("item_id")[["label", "source", "annotator"]].rename(
        columns={"annotator": "decided_by"})


def _label_order(labels: list[str], order: Sequence[object] | None) -> list[str]:
    if not order:
        return sorted(labels)
    rank = {str(o): i for i, o in enumerate(order)}
    return sorted(labels, key=lambda label: (rank.get(label, len(rank)), label))


def _human_tie_break(rows: pd.DataFrame, tied: pd.DataFrame) -> pd.Series:
    """Among each tied item's leading labels, the one most human annotators chose."""
    if "annotator_kind" not in rows.columns or tied.empty:
        return pd.Series(dtype=object)
    human = rows[rows["annotator_kind"] == "human"]
    human_votes = pd.crosstab(human["item_id"], human["label"].astype(str))
    human_votes = human_votes.reindex(index=tied.index, columns=tied.columns, fill_value=0)
    human_votes = human_votes.where(tied, -1)
    best = human_votes.max(axis=1)
    unique = human_votes.eq(best, axis=0).sum(axis=1) == 1
    return human_votes.idxmax(axis=1).where(unique & (best > 0))
