"""`annotate distill`: train a small classifier on a project's final labels, evaluate it on a
held-out split beside the LLM annotators' stored answers, and save it for
``--model distilled:NAME`` (see :mod:`roles.distilled` for the model and its files).

Training data: one final label per item (:func:`annotate.agreement.aggregate.final_labels`):
a moderator's or adjudicator's decision takes precedence, else the aggregate of the
people's annotations by the project policy's ``aggregation``: the majority vote (ties give no
label) or Dawid-Skene (LLM annotator answers vote only with ``include_llm_votes``). Each
final label has a *confidence*: the winning label's vote share (2 of 3 votes: 0.67; one
vote: 1.0) or its Dawid-Skene posterior, or for a decision the decider's stated confidence
(1.0 when none was stated, e.g. a person adjudicating). ``min_confidence`` drops labels below it.

The split is by distinct text: items whose texts are equal once case-folded and with
whitespace collapsed are one example (:func:`distinct_texts`: the label most of them carry),
so no held-out text also occurs in training (on ConvAbuse a row split put a third of the
held-out texts in training too, and scored them 0.98 against 0.88 on unseen texts). The
number of duplicates removed is reported.

What the model embeds per item is the kind's (:func:`annotate.kinds.optional.distill_inputs`):
a classification item's text; a choice item's text and its options' texts, compared by the
features the kind defines. The split and the training hash then compare all of an item's
texts (a choice pair with a known instruction but new responses is a new example).

The saved model is the one trained on the training split, so the held-out figures describe
exactly the model on disk. The figures (accuracy, bootstrap interval, calibration) are
:mod:`annotate.distill.scores`'s.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from annotate.distill.scores import Scores, llm_scores, score
from annotate.errors import InvalidInput
from annotate.projects.catalog import (
    current_guideline,
    get_project,
    project_policy,
    project_schema,
)
from annotate.store.engine import Store

if TYPE_CHECKING:
    import numpy.typing as npt

    from annotate.agreement.aggregate import Method
    from annotate.kinds.schema import LabelSchema
    from roles.distilled import DistilledModel, Embedder

    FloatArray = npt.NDArray[np.float64]
    BoolArray = npt.NDArray[np.bool_]

TRAIN_COLUMNS = ["item_id", "text", "label", "confidence", "source"]


def training_frame(annotations: pd.DataFrame, *, min_confidence: float | None = None,
                   include_llm_votes: bool = False,
                   aggregation: Method = "majority") -> pd.DataFrame:
    """``item_id, text, label, confidence, source``: one final label per item, from
    :func:`annotate.agreement.reporting.annotations_frame` (see the module docstring)."""
    from annotate.agreement.aggregate import decision_labels, final_labels
    from annotate.agreement.reporting import label_table

    table = label_table(annotations)
    if not include_llm_votes:
        table = table[~((table["role"] == "annotator") & (table["annotator_kind"] == "llm"))]
    if table.empty:
        return pd.DataFrame(columns=TRAIN_COLUMNS)
    finals = final_labels(table, aggregation).dropna(subset=["label"])
    decided = decision_labels(table)
    decider_confidence = _decider_confidence(table, decided)
    stated = pd.to_numeric(finals["item_id"].map(decider_confidence), errors="coerce")
    from_decision = finals["item_id"].isin(decided.index)
    confidence = finals["support"].astype(float).where(~from_decision, stated.fillna(1.0))
    finals = finals.assign(confidence=confidence.fillna(1.0).to_numpy())
    if min_confidence is not None:
        finals = finals[finals["confidence"] >= min_confidence]
    texts = table.drop_duplicates("item_id").set_index("item_id")["text"]
    finals = finals.assign(text=finals["item_id"].map(texts), label=finals["label"].astype(str))
    return finals[TRAIN_COLUMNS].sort_values("item_id").reset_index(drop=True)


def _decider_confidence(table: pd.DataFrame, decided: pd.DataFrame) -> pd.Series:
    """The stated confidence of each item's deciding answer (NaN when none was stated)."""
    if decided.empty:
        return pd.Series(dtype=float)
    deciders = decided.rename_axis("item_id").reset_index().rename(
        columns={"source": "role", "decided_by": "annotator"})[["item_id", "role", "annotator"]]
    rows = table.assign(role=table["role"].astype(str).str.lower()).merge(
        deciders, on=["item_id", "role", "annotator"])
    return rows.drop_duplicates("item_id", keep="last").set_index("item_id")["confidence"]


def normalise_text(text: object) -> str:
    """The text as the split compares it: case-folded, whitespace collapsed."""
    return " ".join(str(text).casefold().split())


def input_key(frame: pd.DataFrame) -> pd.Series:
    """Per row, what the split compares: the normalised texts the model embeds (the
    ``inputs`` column when there is one, else the text), joined."""
    if "inputs" not in frame:
        return frame["text"].map(normalise_text)
    return frame["inputs"].map(lambda texts: "\x1f".join(normalise_text(t) for t in texts))


def with_inputs(frame: pd.DataFrame, schema: LabelSchema,
                data: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """``frame`` with an ``inputs`` column: the texts the kind's model embeds per item
    (``data``: item data by external id); InvalidInput when an item lacks one."""
    from annotate.kinds.optional import distill_inputs

    inputs = distill_inputs(schema.kind)
    rows = []
    for item_id, text in zip(frame["item_id"], frame["text"], strict=True):
        try:
            rows.append(inputs.texts(schema, str(text), data.get(str(item_id)) or {}))
        except ValueError as exc:
            raise InvalidInput(f"item {item_id}: {exc}") from None
    return frame.assign(inputs=pd.Series(rows, index=frame.index, dtype=object))


def distinct_texts(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """One row per distinct normalised text (all of the texts the model embeds, with an
    ``inputs`` column: :func:`input_key`; the first item carrying the label most of its
    copies carry; a tie goes to the first copy's label) and the number of rows removed."""
    if frame.empty:
        return frame, 0
    key = input_key(frame)
    kept = []
    for _, group in frame.groupby(key, sort=False):
        counts = group["label"].value_counts(sort=False)
        top = counts[counts == counts.max()].index
        label = next(lab for lab in group["label"] if lab in set(top))
        kept.append(group.index[group["label"] == label][0])
    out = frame.loc[sorted(kept)].reset_index(drop=True)
    return out, len(frame) - len(out)


def training_hash(frame: pd.DataFrame) -> str:
    """sha256 over the sorted (external_id, text, label) triples of the labelled data (the
    training and held-out items: with the seed and held-out share it fixes the split too).
    With an ``inputs`` column the text is the texts the model embeds, joined by U+001F (one
    text: the text itself, so a classification's hash is what it always was)."""
    texts = frame["inputs"].map("\x1f".join) if "inputs" in frame else frame["text"]
    triples = sorted(zip(frame["item_id"].astype(str), texts.astype(str),
                         frame["label"].astype(str), strict=True))
    blob = json.dumps(triples, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def heldout_mask(labels: Sequence[str], share: float, seed: int = 0,
                 groups: Sequence[str] | None = None) -> BoolArray:
    """A seeded held-out split, stratified by label when every label has two items or more.
    With ``groups`` that repeat (choice items sharing an instruction, with other responses),
    whole groups are held out instead (unstratified), so no held-out text is in training."""
    n = len(labels)
    mask = np.zeros(n, dtype=bool)
    if share <= 0 or n < 4:
        return mask
    if groups is not None and len(set(groups)) < n:
        from sklearn.model_selection import GroupShuffleSplit

        split = GroupShuffleSplit(n_splits=1, test_size=share, random_state=seed)
        _, test = next(split.split(np.zeros(n), groups=list(groups)))
        mask[test] = True
        return mask
    from sklearn.model_selection import train_test_split

    counts = pd.Series(list(labels)).value_counts()
    n_test = max(1, round(n * share))
    stratify = list(labels) if counts.min() >= 2 and n_test >= len(counts) else None
    _, test = train_test_split(np.arange(n), test_size=n_test, random_state=seed,
                               shuffle=True, stratify=stratify)
    mask[test] = True
    return mask


# Inverse L2 strength. 5-fold cross-validated log loss on the ConvAbuse dev training split
# chose 3.16 (LogisticRegressionCV over 0.01..1000); C=1 leaves the logits of unit-length
# embeddings shrunk (under-confident). Class-balanced weights were measured worse there
# (held-out accuracy 0.869 vs 0.908, ECE 0.17 vs 0.05 at C=1): they bend the probabilities
# away from the label frequencies that the confidences should reflect.
INVERSE_L2 = 3.0


def fit_softmax(embeddings: FloatArray, labels: Sequence[str], classes: Sequence[str],
                seed: int = 0) -> tuple[FloatArray, FloatArray]:
    """Multinomial logistic regression as softmax weights: (classes x dims, classes).
    A binary model's sigmoid(w.x + b) is stored as softmax over [0, w.x + b]."""
    from sklearn.linear_model import LogisticRegression

    fit = LogisticRegression(C=INVERSE_L2, max_iter=2000, random_state=seed)
    fit.fit(embeddings, list(labels))
    order = [list(fit.classes_).index(c) for c in classes]
    coef, intercept = np.asarray(fit.coef_, float), np.asarray(fit.intercept_, float)
    if len(fit.classes_) == 2:
        coef = np.vstack([np.zeros_like(coef[0]), coef[0]])
        intercept = np.array([0.0, intercept[0]])
    return coef[order], intercept[order]


@dataclass
class DistillReport:
    """What `annotate distill` trained, where it is, and how it scores beside the LLMs."""

    project: str
    model: str
    path: str
    labels: list[str]
    n_train: int
    n_heldout: int
    dropped_low_confidence: int
    training_hash: str
    distilled: Scores | None
    llm: list[Scores]
    duplicates_removed: int = 0
    """Items whose normalised text repeats another's: one example per distinct text, so no
    held-out text is also in training."""
    majority_label: str | None = None  # the training split's most common label
    majority_share: float | None = None  # always answering it, on the held-out items

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DistillOptions:
    min_confidence: float | None = None
    heldout: float = 0.2
    seed: int = 0
    bootstrap: int = 1000
    include_llm_votes: bool = False
    out: Path | None = None


def distill_project(store: Store, name: str, options: DistillOptions = DistillOptions(), *,
                    embedder: Embedder | None = None,
                    on_phase: Callable[[str], None] | None = None) -> DistillReport:
    """Train, evaluate and save the distilled model of project ``name``; ``on_phase(text)``
    hears of each step (reading labels, training, evaluating)."""
    from annotate.agreement.reporting import annotations_frame

    phase = on_phase or (lambda text: None)
    phase(f"reading the final labels of {name}")
    from annotate.kinds.optional import distillable, distillable_kinds
    from roles.distilled import PREFIX, models_dir

    with store.session() as session:
        project = get_project(session, name)
        if not distillable(project.kind):
            raise InvalidInput(f"annotate distill supports {' and '.join(distillable_kinds())} "
                               f"projects only; {name!r} is {project.kind} ({project.kind} is "
                               f"not supported yet)")
        guideline_version = current_guideline(session, project).version
        annotations = annotations_frame(session, project)
        schema = project_schema(project)
        data = _item_data(session, project.id)
        aggregation = project_policy(project).aggregation
    everything = training_frame(annotations, include_llm_votes=options.include_llm_votes,
                                aggregation=aggregation)
    frame = training_frame(annotations, min_confidence=options.min_confidence,
                           include_llm_votes=options.include_llm_votes,
                           aggregation=aggregation)
    frame, duplicates = distinct_texts(with_inputs(frame, schema, data))
    _check_learnable(name, frame, options)
    folder = options.out or models_dir() / name
    model_string = PREFIX + (name if options.out is None else str(folder.resolve()))
    phase(f"embedding and training on {len(frame)} distinct labelled texts "
          f"({options.heldout:.0%} held out; {duplicates} duplicate texts removed)")
    model, test = _train(frame, schema.kind, name, folder, guideline_version, options,
                         embedder)
    reference = frame[test]
    distilled = None
    if test.any():
        phase(f"evaluating on {int(test.sum())} held-out items")
        predictions = model.predict_embedded(model.features(reference["inputs"].tolist()))
        distilled = score(model_string, [p.label for p in predictions],
                          reference["label"].tolist(), [p.confidence for p in predictions],
                          options.bootstrap, options.seed)
        _write_metrics(model, distilled)
    return DistillReport(project=name, model=model_string, path=str(folder),
                         labels=model.card.labels, n_train=model.card.n_train,
                         n_heldout=int(test.sum()),
                         dropped_low_confidence=len(everything) - len(frame),
                         training_hash=model.card.training_hash, distilled=distilled,
                         llm=llm_scores(annotations, reference, options.bootstrap, options.seed),
                         duplicates_removed=duplicates, **_majority(frame[~test], reference))


def _majority(train: pd.DataFrame, heldout: pd.DataFrame) -> dict[str, Any]:
    """The majority-class baseline: the training split's most common label, and how often it
    is the held-out items' label (to print beside every held-out accuracy)."""
    if train.empty:
        return {}
    label = str(train["label"].value_counts().index[0])
    share = float((heldout["label"] == label).mean()) if len(heldout) else None
    return {"majority_label": label, "majority_share": share}


def _item_data(session: Any, project_id: int) -> dict[str, dict[str, Any]]:
    """Each item's data by external id (a choice's options are there)."""
    from sqlalchemy import select

    from annotate.store.models import Item

    rows = session.execute(select(Item.external_id, Item.data)
                           .where(Item.project_id == project_id))
    return {str(external_id): dict(data or {}) for external_id, data in rows}


def _check_learnable(name: str, frame: pd.DataFrame, options: DistillOptions) -> None:
    if frame.empty:
        below = f" at confidence >= {options.min_confidence}" if options.min_confidence else ""
        raise InvalidInput(f"project {name!r} has no final labels{below} to learn from")
    labels = sorted(frame["label"].unique())
    if len(labels) < 2:
        raise InvalidInput(f"project {name!r}: every final label is {labels[0]!r}; "
                           f"a classifier needs two labels or more")


def _train(frame: pd.DataFrame, kind: str, name: str, folder: Path, guideline_version: str,
           options: DistillOptions, embedder: Embedder | None
           ) -> tuple[DistilledModel, BoolArray]:
    from roles.distilled import MiniLMEmbedder, ModelCard, embed_items, read_model, save_model

    embedder = embedder or MiniLMEmbedder()
    test = heldout_mask(frame["label"].tolist(), options.heldout, options.seed,
                        groups=frame["text"].map(normalise_text).tolist())
    train = frame[~test]
    if train["label"].nunique() < 2:
        raise InvalidInput(f"project {name!r}: the training split has one label only; "
                           f"label more items or lower --heldout")
    classes = sorted(train["label"].unique())
    coef, intercept = fit_softmax(embed_items(embedder, kind, train["inputs"].tolist()),
                                  train["label"].tolist(), classes, options.seed)
    card = ModelCard(name=name, project=name, kind=kind, labels=classes,
                     embedding_model=embedder.name,
                     training_hash=training_hash(frame), n_train=len(train),
                     n_heldout=int(test.sum()), heldout_share=options.heldout, seed=options.seed,
                     min_confidence=options.min_confidence,
                     guideline_version=guideline_version,
                     created_at=datetime.now(UTC).isoformat(timespec="seconds"))
    save_model(folder, card, coef, intercept)
    return read_model(folder, embedder), test


def _write_metrics(model: DistilledModel, scores: Scores) -> None:
    from roles.distilled import save_model

    assert model.path is not None
    metrics = {"heldout_accuracy": scores.accuracy, "heldout_ci95": scores.ci95,
               "heldout_ece": scores.ece, "heldout_n": scores.n, "reliability": scores.bins}
    model.card = model.card.model_copy(update={"metrics": metrics})
    save_model(model.path, model.card, model.coef, model.intercept)
