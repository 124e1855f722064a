"""The pilot's files: the HTML report (the agreement report's look), ``numbers.json`` with
every number, the recommended ``policy.json``, and the record of a project's latest pilot
that the UI reads.

The record is a ``reports`` row (kind ``pilot``) in the project's database, so the UI of a
team's server shows a pilot run from anybody's command line on the same database. A pilot run
on another database is opened by its folder (``numbers.json``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from annotate.pilot.recommend import ModelReport, PilotResult
from annotate.store.engine import Store

REPORT_KIND = "pilot"



@dataclass(frozen=True)
class PilotFiles:
    html: Path
    json: Path
    policy: Path
    record: int  # the ``reports`` row the UI reads (see latest_pilot)


def write_pilot_files(store: Store, result: PilotResult, out_dir: Path,
                      policy_path: Path | None = None) -> PilotFiles:
    """HTML report + ``numbers.json`` in ``out_dir``, the recommended policy as JSON, and
    the UI's record of the project's latest pilot."""
    from annotate.agreement.report import write_files
    from annotate.agreement.report_content import ReportContent

    data = result.as_json()
    policy_path = policy_path or out_dir / "policy.json"
    from annotate.outfile import output_folder, write_text

    output_folder(policy_path.parent)
    write_text(policy_path, json.dumps(data["recommendation"]["policy"], indent=2) + "\n")
    data["outputs"] = {"report": str((out_dir / "report.html").resolve()),
                     "policy": str(policy_path.resolve())}
    tables = {"models": models_table(result),
              **{f"answers_{n + 1}": pd.DataFrame(r.answers).assign(model=r.model)
                 for n, r in enumerate(result.models)}}
    content = ReportContent(sections=pilot_sections(result), numbers=data, tables=tables)
    files = write_files(out_dir, content, f"Pilot: {result.project}")
    record = record_pilot(store, result.project, data, out_dir)
    return PilotFiles(files.html, files.json, policy_path, record)


def record_pilot(store: Store, project: str, data: dict[str, Any], out_dir: Path) -> int:
    """Keep the pilot's numbers with the project (the UI shows the latest)."""
    from annotate.projects.catalog import get_project
    from annotate.store.models import Report

    with store.session() as session:
        row = Report(project_id=get_project(session, project).id, kind=REPORT_KIND,
                     data=json.loads(json.dumps(data, default=str)),
                     output=str(out_dir.resolve()))
        session.add(row)
        session.flush()
        return row.id


def latest_pilot(store: Store, project: str) -> dict[str, Any] | None:
    """The numbers of the project's latest pilot (the JSON of :func:`write_pilot_files`)."""
    from sqlalchemy import select

    from annotate.store.models import Project, Report

    with store.session() as session:
        data = session.scalar(
            select(Report.data).join(Project, Project.id == Report.project_id)
            .where(Project.name == project, Report.kind == REPORT_KIND)
            .order_by(Report.id.desc()).limit(1))
    return data if isinstance(data, dict) else None


def load_pilot_json(path: Path) -> dict[str, Any] | None:
    """A pilot's numbers from a record file or a pilot folder (``numbers.json``)."""
    path = path / "numbers.json" if path.is_dir() else path
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "recommendation" in data else None


def models_table(result: PilotResult) -> pd.DataFrame:
    """One row per model: the headline numbers."""
    return pd.DataFrame([{
        "model": r.model, "items": r.items, "alpha_human_llm": r.alpha,
        "alpha_ci_low": r.alpha_ci[0], "alpha_ci_high": r.alpha_ci[1],
        "accuracy": r.accuracy, "accuracy_ci_low": r.accuracy_ci[0],
        "accuracy_ci_high": r.accuracy_ci[1],
        "majority_class_share": r.skill.majority_share, "majority_label": r.skill.majority_label,
        "auroc_right_vs_wrong": r.skill.auroc, "auroc_ci_low": r.skill.auroc_ci[0],
        "auroc_ci_high": r.skill.auroc_ci[1], "can_do_task": r.skill.can_do_task, "ece": r.ece,
        "invalid_rate": r.invalid_rate,
        "errors": r.errors, "usd_per_1000": r.cost_per_1000,
        "seconds_per_1000": r.seconds_per_1000,
        "best_threshold": r.best.threshold, "expected_cost": r.best.expected_cost,
        "expected_accuracy": r.best.expected_accuracy} for r in result.models])


def pilot_sections(result: PilotResult) -> list[Any]:
    from annotate.agreement.report_content import Section

    rec = result.recommendation
    head = Section("recommendation", "Recommended routing", intro=(
        f"Sample of {result.sample['items']} human-labelled items (seed "
        f"{result.sample['seed']}); an error costs {result.costs.error_cost:g}, a human label "
        f"{result.costs.human_cost:g}. Expected cost per item = coverage x (1 - accuracy) x "
        "error cost + (1 - coverage) x (human cost + human error rate x error cost) + LLM "
        "cost per item."))
    head.kpis = [{"label": "model", "value": rec.model or "people only"},
                 {"label": "LLM alone at confidence >=", "value": _fmt(rec.choice.threshold)},
                 {"label": "expected cost / item", "value": _fmt(rec.choice.expected_cost)},
                 {"label": "expected accuracy", "value": _fmt(rec.choice.expected_accuracy)},
                 {"label": "people only: cost / item", "value": _fmt(
                     rec.people_only.expected_cost)},
                 {"label": "LLM only: cost / item", "value": _fmt(
                     rec.llm_only.expected_cost if rec.llm_only else None)}]
    head.notes = [*rec.reasons, *result.notes]
    head.add_table(pd.DataFrame([rec.policy]).T.reset_index().set_axis(
        ["field", "value"], axis=1), "policy.json (annotate policy set NAME policy.json)")
    overview = Section("models", "Models", intro=(
        f"People: alpha {_fmt(result.humans['alpha'])}, error rate "
        f"{_fmt(result.humans['error_rate'])} over {result.humans['error_comparisons']} "
        f"labels ({result.humans['error_estimator']})."))
    overview.add_table(models_table(result))
    if result.models:
        overview.add_image(cost_chart(result), "expected cost per item by threshold")
    extra = [estimator_section(result)] if result.estimators else []
    if result.cascade:
        from annotate.pilot.cascade_report import cascade_section

        extra.append(cascade_section(result.cascade))
    return [head, overview, *extra, *[model_section(r) for r in result.models]]


def estimator_section(result: PilotResult) -> Any:
    """The confidence estimators compared per model (``--estimators``)."""
    from annotate.agreement.report_content import Section

    section = Section("estimators", "Confidence estimators", intro=(
        "Each estimator's raw signal on the same sample, against the people's majority: ECE "
        "raw and after a calibrator fitted out of fold (5-fold), and the AUROC of the "
        "confidence for telling right answers from wrong ones (95% bootstrap interval). An "
        "interval reaching 0.5 means the confidence carries no information for routing, "
        "however well calibrated it is."))
    rows = [{"model": s["model"], "estimator": s["estimator"], "answers": s["answers"],
             "accuracy": s["accuracy"], "ECE raw": s["ece"],
             "ECE calibrated (out of fold)": s["ece_calibrated"], "AUROC": s["auroc"],
             "AUROC low": s["auroc_ci"][0], "AUROC high": s["auroc_ci"][1],
             "calls": s["calls"], "USD": s["cost_usd"], "verdict": s["verdict"]}
            for s in result.estimators]
    section.add_table(pd.DataFrame(rows), "Estimators")
    return section


def model_section(report: ModelReport) -> Any:
    from annotate.agreement.report_content import Section

    section = Section(f"model-{report.model}", f"Model {report.model}", intro=(
        f"{report.items} items, {report.evaluable} with a unique human majority, "
        f"{report.invalid} invalid outputs, {report.errors} failed calls, "
        f"{report.usage.calls} calls and {report.usage.cache_hits} cache hits."))
    section.kpis = [{"label": "alpha (human-LLM)", "value": _fmt(report.alpha)},
                    {"label": "accuracy vs majority", "value": _fmt(report.accuracy)},
                    {"label": f"always answering {report.skill.majority_label} (same items)",
                     "value": _fmt(report.skill.majority_share)},
                    {"label": "confidence AUROC (right vs wrong)",
                     "value": _fmt(report.skill.auroc)},
                    {"label": "ECE", "value": _fmt(report.ece)},
                    {"label": "invalid outputs", "value": f"{report.invalid_rate:.1%}"},
                    {"label": "USD / 1,000 items", "value": f"{report.cost_per_1000:.4f}"},
                    {"label": "seconds / 1,000 items (wall)",
                     "value": f"{report.seconds_per_1000:.0f}"},
                    {"label": "model seconds / 1,000 items, cache hits at their original call",
                     "value": f"{report.model_seconds_per_1000:.0f}"}]
    if report.alpha_note:
        section.notes.append(f"alpha: {report.alpha_note}")
    section.notes += [f"this model cannot do this task: {why}" for why in report.skill.reasons]
    section.notes += [f"failure: {f}" for f in report.failures]
    from annotate.agreement.serialize import to_jsonable

    section.add_table(pd.DataFrame(to_jsonable(report.coverage)), "Accuracy@coverage")
    if report.reliability:
        section.add_image(reliability_diagram(report), "reliability diagram")
        section.add_table(pd.DataFrame(report.reliability), "Reliability bins")
    return section


def reliability_diagram(report: ModelReport) -> str:
    """Accuracy against mean confidence per bin, with the diagonal (a base64 PNG)."""
    from matplotlib.figure import Figure

    from annotate.agreement.plots import _png

    bins = pd.DataFrame(report.reliability)
    fig = Figure(figsize=(4.5, 4.0), layout="constrained")
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    ax.bar(bins["bin_low"], bins["accuracy"], width=bins["bin_high"] - bins["bin_low"],
           align="edge", alpha=0.6, edgecolor="black", label="accuracy")
    ax.plot(bins["confidence"], bins["accuracy"], marker="o", color="black")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy vs human majority")
    ax.set_title(f"{report.model}: ECE {_fmt(report.ece)}")
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    return _png(fig)


def cost_chart(result: PilotResult) -> str:
    from annotate.agreement.plots import bar_chart

    table = pd.DataFrame({r.model: {f"{p.threshold:g}": p.expected_cost for p in r.coverage}
                          for r in result.models})
    table.index.name = "threshold"
    return bar_chart(table, "Expected cost per item by confidence threshold",
                     ylabel="cost per item")


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
