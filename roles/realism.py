"""Whether synthetic items look real: checked one by one against their source, and as a batch.

The seed's lesson: generated user queries did not look like real ones, paraphrases of real
ones did. This module measures it, for :func:`roles.expert.synthesise`:

- per paraphrase (:func:`why_not`, with :mod:`roles.candidates`' similarity): empty, a copy or
  near-copy of its source (surface similarity at or above the policy's
  ``synth_max_similarity``), a duplicate of another paraphrase, text from the prompt, a run-on,
  or drifted (meaning kept, the MiniLM cosine with the source, below ``synth_min_meaning``;
  only measured with embeddings, as the Helper does);
- per batch (:func:`realism_auc`): a logistic regression told to separate the real items from
  the synthetic ones, on sentence embeddings (MiniLM, when the distill extra is installed) or
  else on character 2-4-gram TF-IDF, scored by ROC AUC on held-out folds of 5 shuffled
  5-fold splits that keep a paraphrase with its source (else the classifier meets the
  source's twin and the AUC falls below 0.5): the mean fold AUC with a 95% interval from
  Nadeau and Bengio's corrected variance. 0.5: the classifier cannot tell them apart; 1:
  every synthetic item gives itself away. On real messages split in two halves (ConvAbuse,
  40 + 40, six seeds) it gave 0.44-0.61, each interval holding 0.5 or touching it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from roles.candidates import (
    Embedder,
    Meaning,
    from_prompt,
    normalised,
    surface_similarity,
    too_long,
)

MIN_PER_CLASS = 10  # fewer real or synthetic items than this: the AUC is not measured
FOLDS = 5
REPEATS = 5  # shuffled k-folds, each fold an AUC
LEXICAL = "lexical (character 2-4-gram TF-IDF)"

DROP_REASONS = ("empty", "copy_of_source", "near_copy_of_source", "duplicate", "prompt_leak",
                "too_long", "drifted", "not_sent", "unusable")
"""Why a paraphrase is not imported (``not_sent``: the source held personal data that could
not be redacted with confidence, so no model saw it; ``unusable``: the model's answer failed
to parse or validate, kept on the ledger with its raw text)."""


@dataclass(frozen=True)
class Bounds:
    """The policy's bounds on synthetic items (see :class:`annotate.projects.policy.
    RoutingPolicy`'s ``synth_*`` settings)."""

    max_auc: float | None = 0.8
    max_similarity: float = 0.9
    min_meaning: float = 0.4

    @classmethod
    def of(cls, policy: Any) -> Bounds:
        return cls(max_auc=policy.synth_max_auc, max_similarity=policy.synth_max_similarity,
                   min_meaning=policy.synth_min_meaning)


@dataclass(frozen=True)
class Paraphrase:
    source_id: str
    source: str
    text: str
    prompt_text: str = ""


@dataclass
class Realism:
    """The real-vs-synthetic classifier's cross-validated AUC (None: not measured, ``note``
    says why) with its 95% bootstrap interval, and what it read."""

    auc: float | None
    low: float | None
    high: float | None
    measure: str
    n_real: int
    n_synthetic: int
    folds: int = 0
    note: str = ""


@dataclass
class Checked:
    """The paraphrases kept and dropped (by reason), with copy share and meaning drift."""

    kept: list[Paraphrase] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)
    answered: int = 0
    copies: int = 0
    meaning: list[float] = field(default_factory=list)
    meaning_measure: str = "lexical"

    @property
    def copy_share(self) -> float | None:
        """The share of the model's paraphrases that are copies or near-copies of their
        source."""
        return self.copies / self.answered if self.answered else None

    def meaning_summary(self, floor: float) -> dict[str, Any]:
        """Mean meaning kept over the model's non-empty paraphrases and the share below the
        floor."""
        if not self.meaning:
            return {"mean": None, "below_floor": None, "floor": floor,
                    "measure": self.meaning_measure}
        below = sum(m < floor for m in self.meaning) / len(self.meaning)
        return {"mean": round(sum(self.meaning) / len(self.meaning), 4),
                "below_floor": round(below, 4), "floor": floor, "measure": self.meaning_measure}


def why_not(p: Paraphrase, bounds: Bounds, meaning: Meaning, kept: Sequence[str]) -> str | None:  # noqa: PLR0911
    """The reason a paraphrase is not imported, or None when it is."""
    if not normalised(p.text):
        return "empty"
    if normalised(p.text) == normalised(p.source):
        return "copy_of_source"
    if surface_similarity(p.text, p.source) >= bounds.max_similarity:
        return "near_copy_of_source"
    if any(normalised(p.text) == normalised(k) for k in kept):
        return "duplicate"
    if p.prompt_text and from_prompt(p.text, p.prompt_text, p.source):
        return "prompt_leak"
    if too_long(p.text, p.source):
        return "too_long"
    if meaning.embedder is not None and meaning.kept(p.text) < bounds.min_meaning:
        return "drifted"
    return None


def check(paraphrases: Sequence[Paraphrase], bounds: Bounds, embedder: Embedder | None,
          existing: Sequence[str] = ()) -> Checked:
    """Each paraphrase judged against its source (:func:`why_not`), every drop counted;
    ``existing``: synthetic texts imported before (a paraphrase equal to one is a duplicate)."""
    out = Checked(meaning_measure="embedding" if embedder is not None else "lexical")
    earlier = list(existing)
    vectors: dict[str, Any] = {}  # every source and paraphrase embedded in one batch
    if paraphrases:
        Meaning(paraphrases[0].source, embedder, vectors=vectors).prime(
            t for p in paraphrases for t in (p.source, p.text))
    for p in paraphrases:
        out.answered += 1
        meaning = Meaning(p.source, embedder, vectors=vectors)
        if normalised(p.text):
            out.meaning.append(meaning.kept(p.text))
            out.copies += surface_similarity(p.text, p.source) >= bounds.max_similarity
        reason = why_not(p, bounds, meaning, earlier + [k.text for k in out.kept])
        if reason is None:
            out.kept.append(p)
        else:
            out.dropped[reason] += 1
    return out


def realism_auc(real: Sequence[tuple[str, str]], synthetic: Sequence[tuple[str, str]],
                embedder: Embedder | None, *, seed: int = 0) -> Realism:
    """Cross-validated AUC of a logistic regression separating ``real`` from ``synthetic``
    items, each ``(group, text)``: a paraphrase's group is its source's, and a group stays in
    one fold. Embeddings when ``embedder`` is given, else character n-gram TF-IDF."""
    measure = f"embedding ({embedder.name})" if embedder is not None else LEXICAL
    n_real, n_synth = len(real), len(synthetic)
    if min(n_real, n_synth) < MIN_PER_CLASS:
        return Realism(None, None, None, measure, n_real, n_synth,
                       note=f"not measured: needs at least {MIN_PER_CLASS} real and "
                       f"{MIN_PER_CLASS} synthetic items (got {n_real} and {n_synth}); "
                       "ask for more with --n")
    import numpy as np

    texts = [t for _, t in real] + [t for _, t in synthetic]
    names = [g for g, _ in real] + [g for g, _ in synthetic]
    index = {g: i for i, g in enumerate(dict.fromkeys(names))}
    groups = np.array([index[g] for g in names])
    labels = np.array([0] * n_real + [1] * n_synth)
    features = (np.asarray(embedder.encode(texts), dtype=float) if embedder is not None
                else np.array(texts, dtype=object))
    aucs, folds, test_share = _fold_aucs(features, labels, groups, lexical=embedder is None,
                                         seed=seed)
    auc, low, high = _corrected_interval(aucs, test_share)
    return Realism(auc, low, high, measure, n_real, n_synth, folds=folds)


def _fold_aucs(features: Any, labels: Any, groups: Any, *, lexical: bool,
               seed: int) -> tuple[list[float], int, float]:
    """The AUC on each held-out fold of :data:`REPEATS` shuffled group k-folds (a fold's AUC
    only: pooling the folds' scores mixes their intercepts and biases the AUC below 0.5 on
    data that cannot be told apart), the number of folds and the test share of a fold."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold
    from sklearn.pipeline import make_pipeline

    per_class = min(int((labels == 0).sum()), int((labels == 1).sum()))
    folds = max(2, min(FOLDS, per_class, len(set(groups.tolist()))))
    aucs, shares = [], []
    for repeat in range(REPEATS):
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True,
                                        random_state=seed * REPEATS + repeat)
        for train, test in splitter.split(features, labels, groups):
            if len(set(labels[test].tolist())) < 2:
                continue
            model: Any = LogisticRegression(max_iter=2000)
            if lexical:
                from sklearn.feature_extraction.text import TfidfVectorizer

                model = make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4),
                                                      sublinear_tf=True), model)
            model.fit(features[train], labels[train])
            aucs.append(float(roc_auc_score(labels[test],
                                            model.predict_proba(features[test])[:, 1])))
            shares.append(len(test) / len(train))
    return aucs, folds, sum(shares) / max(1, len(shares))


def _corrected_interval(aucs: list[float],
                        test_share: float) -> tuple[float | None, float | None, float | None]:
    """The mean fold AUC and its 95% interval with Nadeau and Bengio's corrected variance
    for repeated cross-validation (the folds share training data, so the plain standard
    error of their mean is too small): var * (1/J + n_test/n_train), a t quantile."""
    import statistics

    from scipy.stats import t as student

    if not aucs:
        return None, None, None
    mean = statistics.fmean(aucs)
    if len(aucs) < 2:
        return round(mean, 4), None, None
    spread = math.sqrt(statistics.variance(aucs) * (1 / len(aucs) + test_share))
    half = float(student.ppf(0.975, len(aucs) - 1)) * spread
    return (round(mean, 4), round(max(0.0, mean - half), 4),
            round(min(1.0, mean + half), 4))


def verdict(realism: Realism, bounds: Bounds) -> str | None:
    """Why the batch is refused (its AUC is above the policy's bound), or None."""
    if bounds.max_auc is None or realism.auc is None or realism.auc <= bounds.max_auc:
        return None
    interval = "" if realism.low is None else f" (95% interval {realism.low:.2f}-" \
        f"{realism.high:.2f})"
    return (f"a classifier tells these synthetic items from the real ones: AUC "
            f"{realism.auc:.2f}{interval} on {realism.measure} is above the policy's "
            f"synth_max_auc {bounds.max_auc:g}; nothing was imported (--force imports them)")
