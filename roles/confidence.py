"""Confidence estimators for the annotator's answers, as pure functions of what the model
returned (tested on hand-made token tables):

- ``verbalized``: the 0-100 number the model writes in its answer;
- ``logprob``: the probability of the decision from the token log-probabilities at the
  decision's first token, normalised over the allowed labels (the mass of every top
  alternative that starts one of them). llama.cpp reports the model's distribution before its
  grammar, so alternatives outside the schema are there and are left out;
- ``consistency``: the share of k sampled answers that agree with the majority, and the
  entropy of the answers;
- ``distilled``: the distilled model's predicted probability (:mod:`roles.distilled`).

Each gives a raw signal in [0, 1]; a calibrator fitted by the pilot maps it to the
probability of a right answer (:mod:`annotate.agreement.calibration`).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from annotate.llm.types import TokenLogprob


@dataclass(frozen=True)
class Confidence:
    """An answer's confidence: the value routing uses (calibrated when a calibrator applies),
    the estimator's raw signal, the estimator, and what else it measured."""

    value: float | None
    raw: float | None
    estimator: str
    detail: dict[str, Any] = field(default_factory=dict)


def verbalized(answer: dict[str, Any]) -> float | None:
    """The model's confidence (a 0-100 percentage in the answer) as a 0-1 probability."""
    value = answer.get("confidence")
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    return max(0.0, min(1.0, float(value) / 100.0))


def decision_options(output_properties: dict[str, Any]) -> tuple[str, list[str]] | None:
    """The decision field with a closed set of string answers (``label``, ``choice``) and its
    options; None for kinds whose decision is not one of a list (spans, multilabel, ...)."""
    for key, spec in output_properties.items():
        if isinstance(spec, dict) and isinstance(spec.get("enum"), list) \
                and all(isinstance(o, str) for o in spec["enum"]):
            return key, list(spec["enum"])
    return None


def logprob_of_decision(tokens: Sequence[TokenLogprob], key: str, options: Sequence[str],
                        chosen: str) -> float | None:
    """P(chosen) among ``options`` at the position where the value of ``key`` starts; None
    when the answer's tokens do not show that position."""
    text = "".join(t.token for t in tokens)
    found = re.search(r'"' + re.escape(key) + r'"\s*:\s*"', text)
    if found is None or chosen not in options:
        return None
    value_start, offset = found.end(), 0
    for token in tokens:
        end = offset + len(token.token)
        if offset <= value_start < end:
            mass = _label_mass(token, text[offset:value_start], options)
            total = sum(mass.values())
            return mass[chosen] / total if total > 0 else None
        offset = end
    return None


def _label_mass(token: TokenLogprob, before: str, options: Sequence[str]) -> dict[str, float]:
    """Probability of each option's first token(s) among the alternatives at ``token``
    (``before``: the part of the token ahead of the value, e.g. an opening quote)."""
    alternatives = dict(token.top)
    alternatives.setdefault(token.token, token.logprob)
    mass = dict.fromkeys(options, 0.0)
    for candidate, logprob in alternatives.items():
        if not candidate.startswith(before) or len(candidate) == len(before):
            continue
        rest = candidate[len(before):]
        starts = [o for o in options if o.startswith(rest) or rest.startswith(o + '"')]
        for option in starts:  # a token shared by several options counts for each, split
            mass[option] += math.exp(logprob) / len(starts)
    return mass


def agreement(samples: Sequence[Any]) -> tuple[int, float, float]:
    """(index of the first sample giving the majority answer, majority share, entropy in
    nats of the answers); ties go to the answer sampled first."""
    keys = [json.dumps(s, sort_keys=True) for s in samples]
    counts = Counter(keys)
    top = max(counts.values())
    index = next(i for i, k in enumerate(keys) if counts[k] == top)
    n = len(keys)
    entropy = -sum((c / n) * math.log(c / n) for c in counts.values())
    return index, top / n, max(0.0, entropy)
