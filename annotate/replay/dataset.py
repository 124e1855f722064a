"""A multi-annotator dataset read for replay: items and who recorded which label.

The import readers do the reading (so every format `annotate import` knows works here, with
its FILE:LINE errors); this module keeps each item's recorded human labels apart from the
item itself, so the replay can hand them out one person at a time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annotate.agreement.reporting import label_of
from annotate.errors import InvalidInput
from annotate.io.importing.context import ReadContext
from annotate.io.importing.formats import detect_format, load_reader
from annotate.io.importing.records import RowError
from annotate.kinds.schema import LabelSchema

REPLAY_FORMATS = ("labelled-csv", "pairwise-jsonl", "export-jsonl")
PEOPLE_DERIVED_META = frozenset({"human_majority", "majority", "majority_label",
                                 "human_labels", "agreement", "label", "labels"})
"""Item fields computed from the recorded people (PandaLM's ``human_majority`` comes from all
three judges, the held-out one included): dropped when an item is read for replay, so no
prompt, template or role can see the answer it is scored against. Any ``human_*`` field
goes too."""


@dataclass
class ReplayItem:
    external_id: str
    text: str
    data: dict[str, Any]
    meta: dict[str, Any]
    people: dict[str, str]
    """Recorded human labels: person id -> label (one per person, the first one kept)."""
    gold: str | None = None


@dataclass
class ReplayDataset:
    path: Path
    format: str
    schema: LabelSchema
    items: list[ReplayItem]
    guideline: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def recorded_labels(self) -> int:
        return sum(len(item.people) for item in self.items)

    def value_of(self, label: str) -> dict[str, Any]:
        """The annotation value a person's recorded label becomes."""
        return {"choice": label} if self.schema.kind == "choice" else {"label": label}


def resolve_path(dataset: Path) -> Path:
    """A file, or a folder holding one dataset file (e.g. ../shared/data/convabuse)."""
    if dataset.is_file():
        return dataset
    if not dataset.is_dir():
        raise InvalidInput(f"{dataset}: no such file or folder")
    files = sorted(p for p in dataset.iterdir() if p.suffix in (".csv", ".jsonl"))
    jsonl = [p for p in files if p.suffix == ".jsonl"]
    # a folder with a JSONL of items and a long-form label CSV beside it: the JSONL has both
    candidates = jsonl or [p for p in files if not p.stem.endswith("_labels")] or files
    if len(candidates) != 1:
        names = ", ".join(p.name for p in candidates) or "none"
        raise InvalidInput(f"{dataset}: expected one .csv or .jsonl dataset file, found {names}; "
                           "pass the file itself")
    return candidates[0]


def load_dataset(dataset: Path, *, limit: int | None = None) -> ReplayDataset:
    """Read the first ``limit`` items of a labelled dataset (long-form CSV
    ``item_id,text,annotator,label``, PandaLM-style pairwise JSONL, or our export)."""
    path = resolve_path(dataset)
    provisional = LabelSchema(kind="classification", labels=["?"])
    fmt = detect_format(path, provisional)
    if fmt == "pairwise-jsonl":
        schema = LabelSchema(kind="choice", options=["response1", "response2"], allow_tie=True)
    elif fmt in REPLAY_FORMATS:
        schema = provisional
    else:
        raise InvalidInput(f"{path}: a {fmt} file has no recorded human labels to replay; use a "
                           "long-form CSV (item_id,text,annotator,label), a pairwise JSONL "
                           "with human_labels, or an `annotate export` JSONL")
    ctx = ReadContext(path=path, schema=schema)
    items: list[ReplayItem] = []
    dropped: Counter[str] = Counter()
    try:
        with path.open("rb") as stream:
            for record in load_reader(fmt)(stream, ctx):
                if limit is not None and len(items) >= limit:
                    break
                items.append(_item(schema.kind, record, dropped))
    except RowError as exc:
        raise InvalidInput(f"{path}:{exc.line}: {exc.message}") from None
    if not items:
        raise InvalidInput(f"{path}: no items")
    if schema.kind == "classification":
        schema = LabelSchema(kind="classification", labels=_label_order(items))
    notes = [f"{path}:{line}: {what}" for line, what in ctx.skipped.notes]
    if dropped:
        notes.append("dropped item field(s) derived from the people replay scores against: "
                     + ", ".join(f"{k} ({n} items)" for k, n in sorted(dropped.items())))
    return ReplayDataset(path=path, format=fmt, schema=schema, items=items,
                         guideline=_guideline_for(schema), notes=notes)


def without_people_fields(fields: dict[str, Any], dropped: Counter[str]) -> dict[str, Any]:
    """``fields`` less those in :data:`PEOPLE_DERIVED_META` (counted in ``dropped``)."""
    kept = {}
    for key, value in fields.items():
        if key in PEOPLE_DERIVED_META or key.startswith("human_"):
            dropped[key] += 1
        else:
            kept[key] = value
    return kept


def _item(kind: str, record: Any, dropped: Counter[str]) -> ReplayItem:
    people: dict[str, str] = {}
    gold: str | None = None
    for draft in record.annotations:
        prov = draft.provenance
        label = label_of(kind, draft.value) if isinstance(draft.value, dict) else None
        if label is None or draft.role != "annotator" or prov.annotator_kind != "human":
            continue
        if (prov.meta or {}).get("gold"):
            gold = label
        else:
            people.setdefault(prov.annotator_id, label)
    return ReplayItem(external_id=record.external_id, text=record.text,
                      data=without_people_fields(dict(record.data), dropped),
                      meta=without_people_fields(dict(record.meta), dropped),
                      people=people, gold=gold)


def _label_order(items: list[ReplayItem]) -> list[str]:
    """Known orders (ConvAbuse's severity scale) are kept; otherwise by frequency."""
    from annotate.datasets import CONVABUSE_LABELS

    seen = Counter(label for item in items for label in (*item.people.values(), item.gold)
                   if label is not None)
    if seen and set(seen) <= set(CONVABUSE_LABELS):
        return list(CONVABUSE_LABELS)
    if not seen:
        raise InvalidInput("the dataset has no recorded human labels to replay")
    return [label for label, _ in seen.most_common()]


def _guideline_for(schema: LabelSchema) -> str | None:
    from annotate.datasets import CONVABUSE_LABELS, DATASETS_DIR

    if schema.kind == "classification" and schema.labels == list(CONVABUSE_LABELS):
        return (DATASETS_DIR / "convabuse_guideline.md").read_text(encoding="utf-8")
    return None
