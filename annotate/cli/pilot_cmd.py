"""`annotate pilot NAME`: can the LLM do this task, and at what cost of error?"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from annotate.cli.common import out, print_json, settings_of, store_from
from annotate.cli.progress import CommandProgress, command_progress
from annotate.defaults import DEFAULT_MODEL
from annotate.errors import InvalidInput


def pilot(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Project name."),
    sample: int = typer.Option(50, "--sample", "-n", help="Human-labelled items to try."),
    models: str = typer.Option(DEFAULT_MODEL, "--models", "-m",
                               help="Comma-separated litellm model strings (dry-run: instant "
                               "random answers; default: the embedded model)."),
    error_cost: list[str] = typer.Option(
        ["10"], "--error-cost", help="Cost of one wrong final label: N for every label, "
        "LABEL=N for an item whose true label is LABEL (repeat it: --error-cost "
        "abusive=20 --error-cost 10)."),
    human_cost: float = typer.Option(1.0, "--human-cost", help="Cost of one human label."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sample and the bootstrap."),
    bootstrap: int = typer.Option(1000, "--bootstrap",
                                  help="Bootstrap resamples for confidence intervals."),
    output: Path = typer.Option(Path("pilot"), "--output", "-o", help="Output folder."),
    policy_out: Path = typer.Option(None, "--policy-out",
                                    help="Where to write the policy (default OUTPUT/policy.json)."),
    ask_people: bool = typer.Option(False, "--ask-people",
                                    help="Queue human tasks so that SAMPLE items get a human "
                                    "label, then exit."),
    calibrate: bool = typer.Option(
        False, "--calibrate", help="Fit a calibrator per model (and its confidence estimator) "
        "on the sample and store it with the project: later answers under this guideline "
        "version get a calibrated confidence."),
    estimators: str = typer.Option(
        "", "--estimators", help="Compare confidence estimators for each model "
        "(comma-separated: verbalized,logprob,consistency): ECE raw and calibrated, and the "
        "AUROC of the confidence for right vs wrong answers. Consistency costs k calls per "
        "item."),
    stage_cost: list[str] = typer.Option(
        [], "--stage-cost", help="MODEL=USD: a model's cost per item as a cascade stage, "
        "instead of what its calls cost in this run (repeatable)."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Run the annotator role of each model on a sample of items people labelled; report
    agreement, accuracy@coverage, calibration, invalid outputs, cost and time per 1,000 items;
    recommend a routing policy (LLM alone above a confidence threshold, people below) and
    write it as OUTPUT/policy.json for `annotate policy set NAME FILE`. Nothing is stored as a
    label."""
    from annotate.llm.model_check import ensure_model_ready
    from annotate.pilot.recommend import PilotOptions, run_pilot
    from annotate.pilot.report import write_pilot_files

    names = _models(models)
    costs = parse_costs(error_cost, human_cost)
    _check(sample, costs, bootstrap)
    for model_name in names:  # every model, before the first one spends anything
        ensure_model_ready(model_name)
    with store_from(ctx) as store:
        if ask_people:
            _ask_people(store, name, sample, seed)
            return
        options = PilotOptions(costs=costs, models=names, sample=sample, seed=seed,
                               bootstrap=bootstrap, calibrate=calibrate,
                               estimators=_estimators(estimators),
                               stage_costs=parse_stage_costs(stage_cost, names))
        with command_progress(ctx, "pilot") as progress:
            progress.phase(f"sampling up to {sample} items people labelled in {name}")
            result = run_pilot(store, name, options,
                               on_progress=_on_model_progress(progress, names, bootstrap),
                               reservation_ttl_s=settings_of(ctx).reservation_ttl_s)
            progress.phase(f"writing the report to {output}")
            files = write_pilot_files(store, result, output, policy_out)
    if json_out:
        print_json({**result.as_json(), "files": {"report": str(files.html),
                                                  "numbers": str(files.json),
                                                  "policy": str(files.policy)}})
        return
    _print(result)
    _print_estimators(result.estimators)
    _print_coverage(result.cascade)
    out.print(f"wrote {files.html}, {files.json} and {files.policy}\n"
              f"next: annotate policy set {name} {files.policy}", soft_wrap=True,
              highlight=False)


def parse_stage_costs(texts: list[str], models: tuple[str, ...]) -> dict[str, float]:
    """``--stage-cost MODEL=USD`` values, for models the pilot runs."""
    found: dict[str, float] = {}
    for text in texts:
        model, _, number = text.rpartition("=")
        try:
            value = float(number)
        except ValueError:
            value = -1.0
        if not model or not math.isfinite(value) or value < 0:
            raise InvalidInput(f"--stage-cost {text!r}: give MODEL=USD, e.g. --stage-cost "
                               "openai/gpt-4o-mini=0.0004")
        if model not in models:
            raise InvalidInput(f"--stage-cost {text!r}: {model} is not one of --models "
                               f"({', '.join(models)})")
        found[model] = value
    return found


def _estimators(text: str) -> tuple[str, ...]:
    from annotate.pilot.estimators import ESTIMATORS

    names = tuple(dict.fromkeys(e.strip() for e in text.split(",") if e.strip()))
    unknown = [e for e in names if e not in ESTIMATORS]
    if unknown:
        raise InvalidInput(f"--estimators {unknown[0]!r}: known estimators are "
                           f"{', '.join(ESTIMATORS)}")
    return names


def _models(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(m.strip() for m in text.split(",") if m.strip()))
    if not names:
        raise InvalidInput("--models needs at least one model, e.g. --models dry-run")
    return names


def parse_costs(error_costs: list[str], human_cost: float) -> Any:
    """``--error-cost`` values: one plain number (the default, 10 when none) and any number of
    ``LABEL=N``."""
    from annotate.pilot.metrics import Costs

    default: list[float] = []
    per_label: dict[str, float] = {}
    for text in error_costs:
        label, _, number = text.rpartition("=")
        try:
            value = float(number)
        except ValueError:
            raise InvalidInput(f"--error-cost {text!r}: give N or LABEL=N, e.g. --error-cost "
                               "abusive=20 --error-cost 10") from None
        if label.strip():
            per_label[label.strip()] = value
        else:
            default.append(value)
    if len(default) > 1:
        raise InvalidInput("give one default --error-cost N (and LABEL=N for the labels whose "
                           f"errors cost otherwise); got {len(default)} defaults")
    return Costs(default[0] if default else 10.0, human_cost, per_label)


def _check(sample: int, costs: Any, bootstrap: int) -> None:
    if sample < 1:
        raise InvalidInput(f"--sample must be at least 1 (got {sample})")
    if (costs.error_cost < 0 or costs.human_cost < 0
            or any(v < 0 for v in costs.label_costs.values())):
        raise InvalidInput("--error-cost and --human-cost must not be negative")
    if bootstrap < 0:
        raise InvalidInput("--bootstrap must not be negative")


def _ask_people(store: Any, name: str, sample: int, seed: int) -> None:
    from annotate.pilot.recommend import ask_people
    from annotate.projects.catalog import get_project

    with store.session() as session:
        created, present = ask_people(session, get_project(session, name), sample, seed)
    out.print(f"{present} items of {name} already have a human label or task; queued "
              f"{created} more for people. Label them in `annotate ui`, then run "
              f"`annotate pilot {name} --sample {sample}`.", soft_wrap=True, highlight=False)


def _on_model_progress(progress: CommandProgress, models: tuple[str, ...],
                       bootstrap: int) -> Callable[[str, int, int], None]:
    """Phases and counts from ``run_pilot``'s ``on_progress(model, done, total)``."""

    def update(model: str, done: int, total: int) -> None:
        if done == 0:
            progress.phase(f"model {model}, {total} items...")
        progress.count(model, done, total)
        if done == total and model == models[-1]:
            progress.phase(f"measuring agreement and calibration ({bootstrap} bootstrap "
                           "resamples), recommending a policy")

    return update


def _print_estimators(scores: list[dict[str, Any]]) -> None:
    if not scores:
        return
    from rich.table import Table

    table = Table("model", "estimator", "answers", "ECE raw", "ECE calibrated (out of fold)",
                  "AUROC right vs wrong [CI]", "USD", title="Confidence estimators")
    for s in scores:
        table.add_row(s["model"], s["estimator"], str(s["answers"]), _fmt(s["ece"]),
                      _fmt(s["ece_calibrated"]), _ci(s["auroc"], s["auroc_ci"]),
                      f"{s['cost_usd']:.4f}")
    out.print(table)


def _print_coverage(advice: dict[str, Any]) -> None:
    """Accuracy@coverage per stage (model and estimator): what a cascade is chosen from."""
    from rich.table import Table

    from annotate.pilot.cascade_report import coverage_table

    frame = coverage_table(advice)
    if frame.empty:
        return
    table = Table(*[str(c) for c in frame.columns],
                  title="Accuracy@coverage per stage: accuracy (coverage)")
    for row in frame.itertuples(index=False):
        table.add_row(*[f"{v:g}" if isinstance(v, float) else str(v) for v in row])
    out.print(table)


def _print(result: Any) -> None:
    from rich.table import Table

    table = Table("", *[r.model for r in result.models], title=(
        f"Pilot: {result.project} ({result.sample['items']} items; an error costs "
        f"{_error_costs(result.costs)}, a human label {result.costs.human_cost:g})"))
    rows = {
        "alpha human-LLM [95% CI]": [_ci(r.alpha, r.alpha_ci) for r in result.models],
        "accuracy vs majority [CI]": [_ci(r.accuracy, r.accuracy_ci) for r in result.models],
        "always answering the most common label": [_majority(r) for r in result.models],
        "confidence AUROC, right vs wrong [CI]": [_ci(r.skill.auroc, r.skill.auroc_ci)
                                                  for r in result.models],
        "can do this task": ["yes" if r.skill.can_do_task else "NO" for r in result.models],
        "ECE": [_fmt(r.ece) for r in result.models],
        "invalid outputs": [f"{r.invalid}/{r.items} ({r.invalid_rate:.0%})"
                            for r in result.models],
        "failed calls": [str(r.errors) for r in result.models],
        "USD / 1,000 items": [f"{r.cost_per_1000:.4f}" for r in result.models],
        "seconds / 1,000 items": [_seconds(r) for r in result.models],
        "calls (cache hits)": [f"{r.usage.calls} ({r.usage.cache_hits})" for r in result.models],
        "LLM alone at confidence >=": ["people only" if r.best.threshold is None
                                       else f"{r.best.threshold:g} ({r.best.coverage:.0%})"
                                       for r in result.models],
        "expected cost / item": [f"{r.best.expected_cost:.3f}" for r in result.models],
        "expected accuracy": [f"{r.best.expected_accuracy:.1%}" for r in result.models],
    }
    for name, values in rows.items():
        table.add_row(name, *values)
    out.print(table)
    rec = result.recommendation
    out.print(f"people: alpha {_fmt(result.humans['alpha'])}, error rate "
              f"{_fmt(result.humans['error_rate'])} ({result.humans['error_comparisons']} "
              "labels compared with the others' majority)", soft_wrap=True, highlight=False)
    out.print(f"[bold]recommended[/bold]: {rec.reasons[0]}; expected accuracy "
              f"{rec.choice.expected_accuracy:.1%}, cost per item {rec.choice.expected_cost:.3f}"
              f" (people only {rec.people_only.expected_cost:.3f}"
              + (f", LLM only {rec.llm_only.expected_cost:.3f}" if rec.llm_only else "") + ")",
              soft_wrap=True, highlight=False)
    for line in [*rec.reasons[1:], *result.notes]:
        out.print(f"  - {line}", soft_wrap=True, highlight=False)


def _majority(report: Any) -> str:
    """The majority-class share on the same items as the accuracy (the model's valid ones)."""
    skill = report.skill
    if skill.majority_share is None:
        return "n/a"
    return f"{skill.majority_share:.2f} ({skill.majority_label}, {skill.n} items)"


def _error_costs(costs: Any) -> str:
    return ", ".join([*(f"{v:g} on {k}" for k, v in costs.label_costs.items()),
                      f"{costs.error_cost:g}" + (" on others" if costs.label_costs else "")])


def _seconds(report: Any) -> str:
    """Wall time; with cache hits also the model's own time, hits at their original call."""
    text = f"{report.seconds_per_1000:.0f}"
    if report.usage.cache_hits:
        text += f" ({report.model_seconds_per_1000:.0f} uncached)"
    return text


def _ci(value: float | None, ci: tuple[float | None, float | None]) -> str:
    if value is None:
        return "n/a"
    low, high = ci
    return f"{value:.2f}" + (f" [{low:.2f}, {high:.2f}]" if low is not None and high is not None
                            else "")


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
