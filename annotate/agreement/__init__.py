"""Agreement between people and LLMs, on plain long-form tables.

A DataFrame with one row per judgement (``item_id, annotator, label``, optional
``annotator_kind`` human/llm, ``role``, ``rationale``) goes in; typed results come out.

- :func:`krippendorff_alpha` (nominal/ordinal/interval/ratio, missing data, bootstrap CI),
  :func:`percent_agreement`, :func:`cohen_kappa`, :func:`fleiss_kappa`,
  :func:`agreement_summary` (all of them at once, as the CLI prints them);
- :func:`pairwise_agreement`, :func:`agreement_matrix`, :func:`group_agreement`
  (human-human, human-LLM, LLM-LLM);
- :func:`compare_spans` (NER error taxonomy), :func:`compare_ratings` (per-feature ratings);
- :func:`disagreement_examples`;
- :func:`majority_vote`, :func:`dawid_skene`, :func:`final_labels` (decisions first);
- :func:`write_report` (HTML + CSV + JSON), imported lazily (it pulls matplotlib).

Heavy libraries (scikit-learn, statsmodels, matplotlib) are imported inside the functions
that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from annotate.agreement.aggregate import final_labels, majority_vote
from annotate.agreement.alpha import AlphaResult, krippendorff_alpha
from annotate.agreement.bootstrap import ConfidenceInterval
from annotate.agreement.dawid_skene import DawidSkeneResult, dawid_skene
from annotate.agreement.disagreement import DisagreementExample, disagreement_examples
from annotate.agreement.human_llm import human_llm_confusion, llm_vs_human_majority
from annotate.agreement.kappa import (
    KappaResult,
    PercentAgreement,
    cohen_kappa,
    fleiss_kappa,
    percent_agreement,
)
from annotate.agreement.pairwise import (
    GroupAgreement,
    PairAgreement,
    agreement_matrix,
    group_agreement,
    pairwise_agreement,
)
from annotate.agreement.ratings import RatingComparison, compare_ratings
from annotate.agreement.spans import SpanComparison, compare_spans, match_spans
from annotate.agreement.summary import AgreementSummary, agreement_summary
from annotate.agreement.table import Level, code_ratings, read_long_csv

if TYPE_CHECKING:
    from annotate.agreement.report import ReportFiles, write_report

__all__ = [
    "AgreementSummary",
    "AlphaResult",
    "ConfidenceInterval",
    "DawidSkeneResult",
    "DisagreementExample",
    "GroupAgreement",
    "KappaResult",
    "Level",
    "PairAgreement",
    "PercentAgreement",
    "RatingComparison",
    "ReportFiles",
    "SpanComparison",
    "agreement_matrix",
    "agreement_summary",
    "code_ratings",
    "cohen_kappa",
    "compare_ratings",
    "compare_spans",
    "dawid_skene",
    "disagreement_examples",
    "final_labels",
    "fleiss_kappa",
    "group_agreement",
    "human_llm_confusion",
    "krippendorff_alpha",
    "llm_vs_human_majority",
    "majority_vote",
    "match_spans",
    "pairwise_agreement",
    "percent_agreement",
    "read_long_csv",
    "write_report",
]


def __getattr__(name: str) -> Any:
    if name in ("write_report", "ReportFiles"):
        from annotate.agreement import report

        return getattr(report, name)
    raise AttributeError(f"module 'annotate.agreement' has no attribute {name!r}")
