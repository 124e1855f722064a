"""`annotate agreement PATH`: agreement of a long-form CSV, no database needed.

Registered on the main app as ``app.command("agreement")(agreement)``.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from annotate.agreement.summary import AgreementSummary


class LevelChoice(StrEnum):
    nominal = "nominal"
    ordinal = "ordinal"
    interval = "interval"
    ratio = "ratio"


def agreement(
    path: Annotated[Path, typer.Argument(
        help="Long-form CSV: item_id,annotator,label (optional annotator_kind human/llm; "
             "other columns are ignored).")],
    level: Annotated[LevelChoice, typer.Option(
        "--level", help="Level of measurement for Krippendorff's alpha.")] = LevelChoice.nominal,
    order: Annotated[str | None, typer.Option(
        "--order", help="Label order, lowest first, comma-separated (needed for ordinal text "
                        "labels), e.g. low,mid,high.")] = None,
    bootstrap: Annotated[int, typer.Option(
        "--bootstrap", min=0, help="Bootstrap resamples over items for a 95% CI of alpha "
                                   "(0 = none).")] = 0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap.")] = 0,
    json_out: Annotated[bool, typer.Option(
        "--json", help="Print one JSON object instead of a table.")] = False,
) -> None:
    """Krippendorff's alpha, percent agreement, Cohen's and Fleiss' kappa of a CSV."""
    # imported here: pandas and numpy would otherwise slow every `annotate` command's start
    from annotate.agreement.summary import agreement_summary
    from annotate.agreement.table import AGREEMENT_COLUMNS, parse_order, read_long_csv

    frame = read_long_csv(path, AGREEMENT_COLUMNS)
    summary = agreement_summary(frame, str(level), parse_order(order), bootstrap=bootstrap,
                                seed=seed)
    if json_out:
        print(json.dumps(summary.as_json(), indent=2, ensure_ascii=False))
    else:
        print_summary(summary, path)


def print_summary(summary: AgreementSummary, path: Path) -> None:
    """A readable rich table of the summary, notes below it."""
    from rich.console import Console
    from rich.table import Table

    data = summary.as_json()
    table = Table(title=f"Agreement: {path.name} ({summary.level})", title_justify="left")
    table.add_column("statistic")
    table.add_column("value", justify="right")
    table.add_column("95% CI" if summary.alpha.ci is None else
                     f"{summary.alpha.ci.confidence:.0%} CI", justify="right")
    ci = data.get("ci")
    ci_text = f"{ci['low']:.3f} - {ci['high']:.3f}" if ci and ci["low"] is not None else ""
    weights = data["cohen_kappa_weights"]
    for label, key, extra in (("Krippendorff's alpha", "alpha", ci_text),
                              ("percent agreement", "percent_agreement", ""),
                              (f"Cohen's kappa ({weights})", "cohen_kappa", ""),
                              ("Fleiss' kappa", "fleiss_kappa", "")):
        value = data[key]
        table.add_row(label, "n/a" if value is None else f"{value:.4f}", extra)
    table.add_row("items", str(data["n_items"]), "")
    table.add_row("items with 2+ ratings", str(data["n_pairable_items"]), "")
    table.add_row("annotators", str(data["n_annotators"]), "")
    console = Console()
    console.print(table)
    for note in data["notes"]:
        console.print(f"note: {note}", highlight=False, soft_wrap=True)
