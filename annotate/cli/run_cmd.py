"""`annotate run`: LLM role workers on the shared queue, with a live progress bar."""

from __future__ import annotations

import time

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from annotate.cli.common import console, out, print_json, store_from
from annotate.errors import BudgetExceeded, InvalidInput
from annotate.projects import get_project
from annotate.settings import DEFAULT_MODEL


def run(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Project name."),
    model: str = typer.Option(DEFAULT_MODEL, "--model", "-m", envvar="ANNOTATE_MODEL",
                              help="Any litellm model string (openai/..., anthropic/..., "
                              "ollama/..., hosted_vllm/...), local/smollm2 (embedded, the "
                              "default) or dry-run (random schema-valid answers)."),
    role: list[str] = typer.Option(None, "--role", "-r", help="Only these roles (repeatable): "
                                   "helper, annotator, moderator. Default: all."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, max=64,
                                help="Worker threads (requests in flight)."),
    limit: int = typer.Option(None, "--limit", "-n", min=1, help="Stop after N tasks."),
    lease_seconds: int = typer.Option(None, "--lease-seconds", min=1,
                                      help="Lease length (default: the project's policy)."),
    threads: int = typer.Option(None, "--threads", min=1, envvar="ANNOTATE_THREADS",
                                help="CPU threads of the embedded model (default 1)."),
    json_out: bool = typer.Option(False, "--json", help="Print the run's summary as JSON."),
) -> None:
    """Run the LLM roles on the project's queue until no LLM task is left."""
    from roles.client import make_client
    from roles.distilled import is_distilled, load_distilled
    from roles.runner import LLM_ROLES, RunStats, ledger_totals, open_llm_tasks, run_project

    roles = tuple(role) if role else LLM_ROLES
    unknown = set(roles) - set(LLM_ROLES)
    if unknown:
        raise InvalidInput(f"unknown role(s) {', '.join(sorted(unknown))}; "
                           f"choose from {', '.join(LLM_ROLES)}")
    if is_distilled(model):
        # A distilled model is a classifier: it annotates, it cannot help or moderate.
        if role and set(roles) != {"annotator"}:
            raise InvalidInput(f"{model} can only take the annotator role; run the helper "
                               "and moderator with an LLM (--role helper --model ...)")
        roles = ("annotator",)
        load_distilled(model)  # a missing or broken model is one clear error, before any task
    with store_from(ctx) as store:
        with store.session() as session:
            project_id = get_project(session, name).id
        gateway = make_client(store, project_id, model, workers=workers, threads=threads)
        total = open_llm_tasks(store, project_id, roles)
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                      MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                      TimeElapsedColumn(), console=console, disable=json_out) as progress:
            bar = progress.add_task(f"{name} ({model})", total=total or None, info="")

            started = time.perf_counter()

            def on_progress(s: RunStats) -> None:
                handled = s.done + s.failed
                rate = handled / max(time.perf_counter() - started, 1e-9)
                progress.update(bar, completed=handled, total=max(total, handled),
                                info=f"{rate:.1f}/s · ${s.cost_usd:.4f} · cache hits "
                                f"{s.cache_hits} · failed {s.failed}")

            stats = run_project(store, name, gateway, model=model, roles=roles,
                                workers=workers, limit=limit, lease_seconds=lease_seconds,
                                on_progress=on_progress)
        totals = ledger_totals(store, project_id)
    summary = {"done": stats.done, "failed_attempts": stats.failed, "by_role": stats.by_role,
               "cache_hits": stats.cache_hits, "lost_leases": stats.conflicts,
               "cost_usd": stats.cost_usd,
               "seconds": round(stats.seconds, 2), "ledger": totals,
               "stopped_by": stats.stopped_by}
    if json_out:
        print_json(summary)
    else:
        roles_done = ", ".join(f"{k} {v}" for k, v in sorted(stats.by_role.items())) or "none"
        out.print(f"done {stats.done} tasks ({roles_done}) in {stats.seconds:.1f} s; "
                  f"failed attempts {stats.failed}; cache hits {stats.cache_hits}; "
                  f"cost ${stats.cost_usd:.4f}")
    if stats.stopped_by:
        raise BudgetExceeded(stats.stopped_by)
