"""``hf``: a Hugging Face ``datasets.DatasetDict`` on disk, ready for training.

The export directory holds the ``save_to_disk`` layout (``datasets.load_from_disk(DIR)``)
and the same splits as Parquet (``DIR/data/train.parquet``, ``validation.parquet``). One row
per item: ``id``, ``text``, the item's final answer (the adjudicator's, else the
moderator's, else the majority's) with typed features, ``final_source`` (adjudicator /
moderator / majority / unresolved / none), ``n_answers`` and ``meta`` (JSON text):

- one label or choice: ``label``, a ``ClassLabel`` of the schema's names (-1: no label);
- labels: ``labels``, a ``Sequence`` (``List``) of that ``ClassLabel``;
- spans: ``spans``, a ``Sequence`` of ``{start, end, label: ClassLabel}`` (character offsets);
- ratings: ``ratings``, one integer per feature (a named scale point as its position in the
  scale; null when unresolved).

The split is by distinct text, so no text is in both: the distinct texts, sorted and
shuffled with ``seed`` (default 0), the first ``validation`` share of them (default 0.2; at
least one text each side when there are two or more) go to ``validation``. A split with no
rows (one distinct text, ``--validation 0``) is left out.
"""

from __future__ import annotations

import importlib.util
import json
import random
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from annotate.errors import InvalidInput, SetupError
from annotate.io.export_formats.base import (
    CHOICE,
    LABEL,
    LABELS,
    RATINGS,
    SPANS,
    final_answer,
    require_shape,
)
from annotate.kinds.schema import LabelSchema

SHAPES = (LABEL, LABELS, SPANS, RATINGS, CHOICE)
INSTALL = "pip install 'annotate-platform[export]'"
SPLITS = ("train", "validation")


def require_package(package: str, fmt: str) -> None:
    """One clear error, before any work, when an optional package is not installed."""
    if importlib.util.find_spec(package) is None:
        raise SetupError(f"{fmt} export needs the {package} package: {INSTALL}")


class HfExporter:
    binary = True
    writes_directory = True
    directory_marker = "dataset_dict.json"
    default_output = "{name}-hf"
    finals: Mapping[str, dict[str, Any]] = MappingProxyType({})  # base.with_finals

    def __init__(self, schema: LabelSchema | None = None, seed: int = 0,
                 validation: float = 0.2) -> None:
        self.schema, self.seed, self.validation = schema, seed, validation
        self.cannot_carry: list[str] = []

    def for_schema(self, schema: LabelSchema) -> HfExporter:
        require_shape(schema, "hf", SHAPES)
        require_package("datasets", "hf")
        return HfExporter(schema, self.seed, self.validation)

    def with_options(self, options: dict[str, Any]) -> HfExporter:
        unknown = sorted(set(options) - {"seed", "validation"})
        if unknown:
            raise InvalidInput(f"hf export takes --seed and --validation, not "
                               f"{', '.join('--' + u for u in unknown)}")
        validation = float(options.get("validation", self.validation))
        if not 0 <= validation < 1:
            raise InvalidInput(f"--validation is a share of the texts, from 0 to below 1, "
                               f"not {validation}")
        return HfExporter(self.schema, int(options.get("seed", self.seed)), validation)

    def write(self, items: Iterable[dict[str, Any]], out: Any) -> None:
        """Fill the new directory ``out`` (a path: ``writes_directory``)."""
        import datasets

        out = Path(out)
        schema = self.schema
        assert schema is not None, "for_schema first"
        shape = require_shape(schema, "hf", SHAPES)
        rows = [self._row(item, shape) for item in items]
        validation = split_texts([r["text"] for r in rows], self.validation, self.seed)
        features = datasets.Features({**_base_features(datasets),
                                      **_answer_features(datasets, schema, shape)})
        parts = {name: [r for r in rows if (r["text"] in validation) == (name == "validation")]
                 for name in SPLITS}
        splits = datasets.DatasetDict({  # an empty split cannot be saved: it is left out
            name: datasets.Dataset.from_list(part, features=features)
            for name, part in parts.items() if part})
        if not splits:
            raise InvalidInput("hf export needs at least one item")
        bars = datasets.is_progress_bar_enabled()
        datasets.disable_progress_bars()  # the export prints its own one-line summary
        try:
            splits.save_to_disk(str(out))
            (out / "data").mkdir()
            for name, split in splits.items():
                split.to_parquet(str(out / "data" / f"{name}.parquet"))
        finally:
            if bars:
                datasets.enable_progress_bars()
        self._note_losses(rows)

    def _row(self, item: dict[str, Any], shape: str) -> dict[str, Any]:
        assert self.schema is not None
        final, source = final_answer(self.schema, item["annotations"],
                                     self.finals.get(item["id"]))
        return {"id": item["id"], "text": item["text"], "final_source": source,
                "n_answers": len(item["annotations"]),
                "meta": json.dumps(item["meta"], ensure_ascii=False),
                **_answer_columns(self.schema, shape, final)}

    def _note_losses(self, rows: list[dict[str, Any]]) -> None:
        answers = sum(r["n_answers"] for r in rows)
        self.cannot_carry.append(f"each of the {answers:,} answers and its provenance (one "
                                 "final answer per item; jsonl keeps them all)")
        open_items = sum(r["final_source"] in ("unresolved", "none") for r in rows)
        if open_items:
            self.cannot_carry.append(f"a final answer for {open_items:,} items (tied or "
                                     "unanswered: label -1, empty or null)")


def split_texts(texts: list[str], share: float, seed: int) -> set[str]:
    """The texts of the validation split: a seeded share of the distinct texts."""
    distinct = sorted(set(texts))
    random.Random(seed).shuffle(distinct)
    n = round(len(distinct) * share)
    if share > 0 and len(distinct) >= 2:
        n = min(max(n, 1), len(distinct) - 1)
    return set(distinct[:n])


def _base_features(datasets: Any) -> dict[str, Any]:
    return {"id": datasets.Value("string"), "text": datasets.Value("string"),
            "final_source": datasets.Value("string"), "n_answers": datasets.Value("int32"),
            "meta": datasets.Value("string")}


def _answer_features(datasets: Any, schema: LabelSchema, shape: str) -> dict[str, Any]:
    if shape == RATINGS:
        return {RATINGS: {f.name: datasets.Value("int64") for f in schema.features}}
    names = datasets.ClassLabel(names=schema.choices() if shape == CHOICE else schema.labels)
    if shape == LABELS:
        return {LABELS: datasets.List(names)}
    if shape == SPANS:
        return {SPANS: datasets.List({"start": datasets.Value("int32"),
                                      "end": datasets.Value("int32"), "label": names})}
    return {LABEL: names}


def _answer_columns(schema: LabelSchema, shape: str,
                    value: dict[str, Any] | None) -> dict[str, Any]:
    if shape == RATINGS:
        scales = {f.name: f.scale for f in schema.features}
        given = (value or {}).get(RATINGS, {})
        return {RATINGS: {name: _point(scale, given.get(name)) for name, scale in scales.items()}}
    names = schema.choices() if shape == CHOICE else schema.labels
    index = {name: i for i, name in enumerate(names)}
    if shape == LABELS:
        return {LABELS: [index[x] for x in value[LABELS]] if value else []}
    if shape == SPANS:
        return {SPANS: [{"start": s["start"], "end": s["end"], "label": index[s["label"]]}
                        for s in value[SPANS]] if value else []}
    return {LABEL: index[value[shape]] if value else -1}


def _point(scale: list[int | str], point: Any) -> int | None:
    if point is None:
        return None
    return point if isinstance(point, int) else [str(p) for p in scale].index(str(point))
