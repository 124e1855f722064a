"""The headline numbers of one long-form table: alpha, percent agreement, Cohen's and Fleiss' kappa.

A statistic that does not apply is None, and ``notes`` says why (Cohen's kappa with three
annotators, Fleiss' kappa with unequal ratings per item, alpha on one category ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from annotate.agreement.alpha import AlphaResult, alpha_of_coded
from annotate.agreement.bootstrap import DEFAULT_CONFIDENCE
from annotate.agreement.kappa import (
    KappaResult,
    PercentAgreement,
    Weights,
    cohen_kappa_of_coded,
    fleiss_kappa_of_coded,
    percent_agreement_of_counts,
)
from annotate.agreement.serialize import to_jsonable
from annotate.agreement.table import CodedRatings, Level, code_ratings

KAPPA_WEIGHTS: dict[str, Weights] = {
    "nominal": None, "ordinal": "linear", "interval": "quadratic", "ratio": "quadratic"}


@dataclass(frozen=True)
class AgreementSummary:
    level: Level
    n_items: int
    n_annotators: int
    alpha: AlphaResult
    percent_agreement: PercentAgreement
    cohen_kappa: KappaResult
    fleiss_kappa: KappaResult
    notes: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        """The flat object printed by ``annotate agreement --json``."""
        out: dict[str, Any] = {
            "level": self.level,
            "alpha": self.alpha.value,
            "percent_agreement": self.percent_agreement.value,
            "cohen_kappa": self.cohen_kappa.value,
            "cohen_kappa_weights": self.cohen_kappa.weights or "unweighted",
            "fleiss_kappa": self.fleiss_kappa.value,
            "n_items": self.n_items,
            "n_pairable_items": self.alpha.n_pairable_items,
            "n_annotators": self.n_annotators,
            "notes": list(self.notes),
        }
        if self.alpha.ci is not None:
            out["ci"] = {"statistic": "alpha", **to_jsonable(self.alpha.ci)}
        return out


def agreement_summary(frame: pd.DataFrame, level: str = "nominal",
                      order: Sequence[object] | None = None, *, bootstrap: int = 0,
                      seed: int = 0, confidence: float = DEFAULT_CONFIDENCE) -> AgreementSummary:
    """Alpha (with a CI when ``bootstrap`` > 0), percent agreement and both kappas.

    Cohen's kappa is unweighted at the nominal level, linearly weighted at the ordinal level
    and quadratically weighted at the interval and ratio levels. Fleiss' kappa always treats
    labels as nominal.
    """
    coded = code_ratings(frame, level, order)
    return summary_of_coded(coded, bootstrap=bootstrap, seed=seed, confidence=confidence)


def summary_of_coded(coded: CodedRatings, *, bootstrap: int = 0, seed: int = 0,
                     confidence: float = DEFAULT_CONFIDENCE) -> AgreementSummary:
    alpha = alpha_of_coded(coded, bootstrap=bootstrap, seed=seed, confidence=confidence)
    share = percent_agreement_of_counts(coded.value_counts())
    cohen = cohen_kappa_of_coded(coded, KAPPA_WEIGHTS[coded.level])
    fleiss = fleiss_kappa_of_coded(coded)
    notes = list(coded.notes)
    for name, reason in (("alpha", alpha.reason), ("percent_agreement", share.reason),
                         ("cohen_kappa", cohen.reason), ("fleiss_kappa", fleiss.reason)):
        if reason:
            notes.append(f"{name}: {reason}")
    if coded.level != "nominal" and fleiss.value is not None:
        notes.append("fleiss_kappa treats the labels as nominal")
    if alpha.ci is not None and alpha.ci.reason:
        notes.append(f"ci: {alpha.ci.reason}")
    return AgreementSummary(level=coded.level, n_items=coded.n_items,
                            n_annotators=len(coded.annotators), alpha=alpha,
                            percent_agreement=share, cohen_kappa=cohen, fleiss_kappa=fleiss,
                            notes=tuple(notes))
