"""`annotate expert ...`: the Expert role, on demand."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from annotate.cli.common import CommandsGroup, out, print_json, settings_of, store_from
from annotate.defaults import DEFAULT_MODEL

if TYPE_CHECKING:
    from annotate.llm.types import LLMClient
    from annotate.store.engine import Store
    from roles.expert import SynthReport
    from roles.realism import Realism

expert_app = typer.Typer(cls=CommandsGroup,
                         help="The Expert role: guideline review, synthetic items, effort "
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
              n: int = typer.Option(50, "--n", min=1, help="How many real items to paraphrase."),
              from_real: bool = typer.Option(True, "--from-real/--no-from-real",
                                             help="Paraphrase real items (the default)."),
              seed: int = typer.Option(0, "--seed", help="Which real items are sampled, and "
                                       "the realism classifier's folds."),
              force: bool = typer.Option(False, "--force", help="Import the batch even when a "
                                         "classifier tells it from the real items."),
              json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Synthetic items, paraphrased from real ones and flagged synthetic; near-copies and
    drifted ones are dropped, and a batch that a real-vs-synthetic classifier tells apart
    (the policy's synth_max_auc) is not imported."""
    from annotate.projects.catalog import get_project
    from roles.expert import synthesise

    with store_from(ctx) as store:
        with store.session() as session:
            pid = get_project(session, name).id
        report = synthesise(store, _gateway(ctx, store, pid, model), name, model=model, n=n,
                            from_real=from_real, seed=seed, force=force)
    if json_out:
        print_json(report.as_json())
    else:
        for line in synth_lines(report):
            out.print(line, markup=False, highlight=False, soft_wrap=True)
    if report.refused and not force:
        raise typer.Exit(2)  # like doctor's "not ready": the report above says why


def synth_lines(report: SynthReport) -> list[str]:
    """The synth report as a person reads it: what was imported, each reason for a drop,
    copy share, meaning drift and the real-vs-synthetic AUC."""
    c, r = report.checked, report.realism
    lines = [f"asked {report.asked} real items, {c.answered} paraphrases, {len(c.kept)} "
             f"within bounds, {len(report.created)} imported (flagged synthetic; tasks per "
             "policy)"]
    lines += [f"  dropped {count}: {reason.replace('_', ' ')}"
              for reason, count in sorted(c.dropped.items())]
    if c.copy_share is not None:
        lines.append(f"  near-copies of their source: {c.copy_share:.0%} (similarity >= "
                     f"{report.bounds.max_similarity:g})")
    meaning = c.meaning_summary(report.bounds.min_meaning)
    if meaning["mean"] is not None:
        lines.append(f"  meaning kept ({meaning['measure']}): mean {meaning['mean']:.2f}, "
                     f"{meaning['below_floor']:.0%} below {meaning['floor']:g}")
    lines.append(f"  real vs synthetic: {_auc_text(r)}")
    u = report.unchecked
    if u is not None and u is not r:
        lines.append(f"  before the checks (every paraphrase): {_auc_text(u)}")
    if report.refused:
        lines.append(("forced: " if report.forced else "refused: ") + report.refused)
    return lines


def _auc_text(r: Realism) -> str:
    if r.auc is None:
        return r.note
    interval = "" if r.low is None else f" (95% interval {r.low:.2f}-{r.high:.2f})"
    return (f"AUC {r.auc:.2f}{interval}, {r.n_real} real / {r.n_synthetic} synthetic, "
            f"{r.folds}-fold, {r.measure}; 0.5 = cannot be told apart")


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
