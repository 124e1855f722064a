"""`annotate expert ...`: the Expert role, on demand."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from annotate.cli.common import out, print_json, settings_of, store_from
from annotate.defaults import DEFAULT_MODEL

if TYPE_CHECKING:
    from annotate.llm.types import LLMClient
    from annotate.store.engine import Store

expert_app = typer.Typer(help="The Expert role: guideline review, synthetic items, effort "
                         "estimates, anomaly search.", no_args_is_help=True)

MODEL = typer.Option(DEFAULT_MODEL, "--model", "-m", envvar="ANNOTATE_MODEL",
                     help="Any litellm model string; default: the embedded model.")


def _gateway(ctx: typer.Context, store: Store, project_id: int, model: str) -> LLMClient:
    from annotate.llm.client import make_client

    return make_client(store, project_id, model,
                       reservation_ttl_s=settings_of(ctx).reservation_ttl_s)


@expert_app.command("review")
def review_cmd(ctx: typer.Context, name: str, model: str = MODEL,
               items: int = typer.Option(8, "--items", min=1, max=20,
                                         help="How many real items the expert reads."),
               json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Pitfalls, ambiguous cases and a proposed revision of the guideline, saved as a new
    guideline version (shown as a diff to the last one)."""
    from annotate.projects.catalog import get_project
    from roles.expert import review

    with store_from(ctx) as store:
        with store.session() as session:
            pid = get_project(session, name).id
        result = review(store, _gateway(ctx, store, pid, model), name, model=model,
                        n_items=items)
    if json_out:
        print_json(result.__dict__)
        return
    out.print("[bold]Pitfalls[/bold]\n" + "\n".join(f"- {p}" for p in result.pitfalls))
    out.print("[bold]Ambiguous cases[/bold]\n" + "\n".join(f"- {a}" for a in result.ambiguous))
    out.print(f"[bold]Proposed revision[/bold] saved as guideline version {result.version}:")
    out.print(result.diff or "(no change)", markup=False, highlight=False)


@expert_app.command("synth")
def synth_cmd(ctx: typer.Context, name: str, model: str = MODEL,
              n: int = typer.Option(50, "--n", min=1, help="How many synthetic items."),
              from_real: bool = typer.Option(True, "--from-real/--no-from-real",
                                             help="Paraphrase real items (the default)."),
              json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Synthetic items, paraphrased from real ones so they look real; flagged synthetic."""
    from annotate.projects.catalog import get_project
    from roles.expert import synthesise

    with store_from(ctx) as store:
        with store.session() as session:
            pid = get_project(session, name).id
        ids = synthesise(store, _gateway(ctx, store, pid, model), name, model=model, n=n,
                         from_real=from_real)
    if json_out:
        print_json({"created": len(ids)})
    else:
        out.print(f"created {len(ids)} synthetic items (flagged synthetic; tasks per policy)")


@expert_app.command("estimate")
def estimate_cmd(ctx: typer.Context, name: str, model: str = MODEL,
                 json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Before a job: LLM tokens and cost for the whole project, and people's minutes."""
    from roles.expert import estimate

    with store_from(ctx) as store:
        result = estimate(store, name, model=model)
    if json_out:
        print_json(result.__dict__)
        return
    minutes = "unknown" if result.human_minutes is None else f"{result.human_minutes:,.0f} min"
    out.print(f"{result.items:,} items: ~{result.llm_calls:,} LLM calls, "
              f"~{result.prompt_tokens + result.completion_tokens:,} tokens, "
              f"~${result.cost_usd:.2f} with {model}; people: {minutes}")
    for note in result.notes:
        out.print(f"  note: {note}")


@expert_app.command("anomalies")
def anomalies_cmd(ctx: typer.Context, name: str,
                  json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Duplicates and near-duplicates, empty or huge texts, wrong script/language,
    annotators with outlying label distributions; each with its reason."""
    from annotate.projects.catalog import get_project
    from annotate.services.anomalies import project_anomalies

    with store_from(ctx) as store, store.session() as session:
        found = project_anomalies(session, get_project(session, name))
    if json_out:
        print_json([a.__dict__ for a in found])
        return
    table = Table("kind", "item", "reason")
    for a in found:
        table.add_row(a.kind, a.item or "", a.reason)
    out.print(table if found else "no anomalies found")
