"""The pilot's cascade advice on paper: accuracy@coverage per stage (model and confidence
estimator) as a table and one plot, the stages kept or dropped and why, and the chosen
chain against each single stage and people alone (:mod:`annotate.pilot.cascade`)."""

from __future__ import annotations

from typing import Any

import pandas as pd


def coverage_table(advice: dict[str, Any]) -> pd.DataFrame:
    """Rows: thresholds; columns: ``model (estimator)``; cells: ``accuracy (coverage)``."""
    curves = pd.DataFrame(advice.get("accuracy_at_coverage") or [])
    if curves.empty:
        return curves
    curves["stage"] = curves["model"] + " (" + curves["estimator"] + ")"
    curves["cell"] = [("n/a" if pd.isna(a) else f"{a:.2f}") + f" ({c:.0%})"
                      for a, c in zip(curves["accuracy"], curves["coverage"], strict=True)]
    table = curves.pivot_table(index="threshold", columns="stage", values="cell",
                               aggfunc="first", sort=False)
    return table.reset_index().rename(columns={"threshold": "confidence >="})


def plans_table(advice: dict[str, Any]) -> pd.DataFrame:
    """The chosen chain, each single stage and people alone: cost, accuracy, human share."""
    rows = []
    best = advice.get("best")
    plans = ([("chosen", best)] if best else []) + [("single", p)
                                                     for p in advice.get("singles", [])]
    for what, plan in plans:
        rows.append({"plan": what, "stages": " -> ".join(
            f"{s['annotator']} >= {s['threshold']:g}" for s in plan["stages"]) + " -> people",
            "expected cost / item": plan["expected_cost"],
            "expected accuracy": plan["expected_accuracy"],
            "share to people": plan["human_share"]})
    rows.append({"plan": "people only", "stages": "people",
                 "expected cost / item": advice.get("people_only_cost"),
                 "expected accuracy": None, "share to people": 1.0})
    return pd.DataFrame(rows)


def coverage_plot(advice: dict[str, Any]) -> str | None:
    """Accuracy against coverage, one line per stage candidate (a base64 PNG)."""
    curves = pd.DataFrame(advice.get("accuracy_at_coverage") or [])
    if curves.empty:
        return None
    from annotate.agreement.plots import _figure, _png

    fig, ax = _figure(5.5, 4.0)
    for (model, estimator), group in curves.groupby(["model", "estimator"], sort=False):
        line = group.dropna(subset=["accuracy"]).sort_values("coverage")
        ax.plot(line["coverage"], line["accuracy"], marker="o", label=f"{model} ({estimator})")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("coverage (share of items answered at or above the threshold)")
    ax.set_ylabel("accuracy vs people's majority")
    ax.set_title("Accuracy@coverage per stage")
    ax.legend(fontsize=8, frameon=False, loc="lower left")
    return _png(fig)


def cascade_section(advice: dict[str, Any]) -> Any:
    """The report's "Cascade" section."""
    from annotate.agreement.report_content import Section

    section = Section("cascade", "Cascade", intro=(
        f"Every model tried is a possible stage; on the {advice.get('items', 0)} sampled items "
        "with a people's majority, each ordered chain of up to three stages and each threshold "
        "was tried: an item stands at the first stage whose answer is at or above its "
        "threshold, else moves on, and people label what is left. Expected cost per item = "
        "the costs of the stages it reached + the error cost when the deciding stage was "
        "wrong + (human cost + human error rate x error cost) when it reached people. A stage "
        "whose confidence carries no information cannot route and is dropped."))
    section.notes = list(advice.get("lines", []))
    candidates = pd.DataFrame(advice.get("candidates") or [])
    if not candidates.empty:
        section.add_table(candidates, "Stages tried (cost per item in USD)")
    section.add_table(plans_table(advice), "Plans")
    table = coverage_table(advice)
    if not table.empty:
        section.add_table(table, "Accuracy@coverage per stage: accuracy (coverage)")
    plot = coverage_plot(advice)
    if plot is not None:
        section.add_image(plot, "accuracy@coverage per stage")
    return section
