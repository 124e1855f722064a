"""`annotate distill`: a small local classifier from a project's final labels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from annotate.cli.common import out, print_json, store_from
from annotate.cli.progress import command_progress


def distill(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Project name (a classification project); the model "
                               "is saved under this name."),
    min_confidence: float = typer.Option(
        None, "--min-confidence", min=0.0, max=1.0,
        help="Learn only from final labels at least this sure, 0..1. A label's confidence is "
        "its vote share among the people's annotations (2 of 3 votes = 0.67; a single vote "
        "= 1.0), or for a moderator/adjudicator decision the decider's stated confidence (1.0 "
        "when none was stated). Default: keep every final label (ties never count)."),
    heldout: float = typer.Option(0.2, "--heldout", min=0.0, max=0.5,
                                  help="Share of the labelled items held out for evaluation "
                                  "(seeded, stratified by label); 0 trains on all, no metrics."),
    seed: int = typer.Option(0, "--seed", help="Seed of the split and the bootstrap."),
    bootstrap: int = typer.Option(1000, "--bootstrap", min=0,
                                  help="Bootstrap resamples for the accuracy's 95% CI."),
    include_llm_votes: bool = typer.Option(
        False, "--include-llm-votes",
        help="Let LLM annotator answers vote in the majority (default: people's votes and "
        "decisions only, so the comparison with the LLM is not circular)."),
    out_dir: Path = typer.Option(
        None, "--out", "-o", help="Model folder. Default: $ANNOTATE_MODELS_DIR/NAME, else "
        "./.annotate/models/NAME (then `--model distilled:NAME` finds it)."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Train a small classifier (MiniLM sentence embeddings + logistic regression) on the
    project's final labels, evaluate it on held-out items beside the LLM annotators' stored
    answers, and save it (no pickle). Use it as the annotator with
    `annotate run NAME --model distilled:NAME --role annotator`. Needs the `distill` extra."""
    from annotate.distill.train import DistillOptions, distill_project

    options = DistillOptions(min_confidence=min_confidence, heldout=heldout, seed=seed,
                             bootstrap=bootstrap, include_llm_votes=include_llm_votes,
                             out=out_dir)
    with store_from(ctx) as store, command_progress(ctx, "distill") as progress:
        report = distill_project(store, name, options, on_phase=progress.phase)
    if json_out:
        print_json(report.as_dict())
        return
    _print_report(report.as_dict())


def _print_report(report: dict[str, Any]) -> None:
    from rich.table import Table

    out.print(f"[bold]{report['model']}[/bold]: trained on {report['n_train']} items "
              f"({', '.join(report['labels'])}), held out {report['n_heldout']}; "
              f"{report['dropped_low_confidence']} low-confidence labels dropped; split by "
              f"distinct text, {report.get('duplicates_removed', 0)} duplicate texts removed")
    rows = [("new model", s) for s in [report["distilled"]] if s is not None]
    rows += [("stored LLM answers", s) for s in report["llm"]]
    table = Table("annotator", "answers", "held-out items", "accuracy", "95% CI", "ECE",
                  title="On the same held-out items (reference: the final labels)",
                  title_justify="left")
    for what, s in rows:
        ci = s["ci95"]
        table.add_row(s["annotator"], what, str(s["n"]), _num(s["accuracy"]),
                      f"{ci[0]:.3f} - {ci[1]:.3f}" if ci else "",
                      _num(s["ece"]) + ("" if s["n_with_confidence"] == s["n"] else
                                        f" (n={s['n_with_confidence']})"))
    if rows:
        out.print(table)
    if report.get("majority_share") is not None:
        out.print(f"always answering {report['majority_label']!r} (the training split's most "
                  f"common label) is right on {report['majority_share']:.3f} of the same "
                  "held-out items", soft_wrap=True, highlight=False)
    if report["n_heldout"] and not report["llm"]:
        out.print("LLM annotator: no LLM answers on these items")
    if report["distilled"]:
        out.print(_reliability(report["distilled"]["bins"]))
    out.print(f"saved to {report['path']}   ·   use: annotate run {report['project']} "
              f"--model {report['model']} --role annotator")


def _reliability(bins: list[dict[str, float]]) -> Any:
    from rich.table import Table

    table = Table("confidence bin", "answers", "mean confidence", "accuracy",
                  title="Reliability of the distilled model (held-out)", title_justify="left")
    for b in bins:
        table.add_row(f"{b['lo']:.1f} - {b['hi']:.1f}", str(b["n"]), f"{b['confidence']:.3f}",
                      f"{b['accuracy']:.3f}")
    return table


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"
