"""`annotate run`: LLM role workers on the shared queue, with progress on stderr.

The model is checked before any task is claimed (a missing embedded model or API key is one
line and exit 2); a run that stops on a configuration error, a dead worker or a vanished
database exits non-zero with the reason; the summary counts done, failed and leased tasks.
"""

from __future__ import annotations

import time
from typing import Any

import typer

from annotate.cli.common import names_in_help, out, print_json, settings_of, store_from
from annotate.cli.names import role_names
from annotate.cli.run_progress import RunProgress
from annotate.defaults import DEFAULT_MODEL
from annotate.errors import BudgetExceeded, InvalidInput

MAX_LEASE_SECONDS = 7 * 24 * 3600


def run(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Project name."),
    model: str = typer.Option(DEFAULT_MODEL, "--model", "-m", envvar="ANNOTATE_MODEL",
                              help="Any litellm model string (openai/..., anthropic/..., "
                              "ollama/..., hosted_vllm/...), local/smollm2 (embedded, the "
                              "default) or dry-run (random schema-valid answers)."),
    role: list[str] = typer.Option(None, "--role", "-r", help="Only these roles (repeatable): "
                                   "{roles}. Default: all."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, max=64,
                                help="Worker threads (requests in flight)."),
    batch: int = typer.Option(1, "--batch", min=1, max=1024,
                              help="Tasks each worker claims, answers and stores at a time (a "
                              "distilled model labels them in one call)."),
    limit: int = typer.Option(None, "--limit", "-n", min=1, help="Stop after N tasks."),
    lease_seconds: int = typer.Option(None, "--lease-seconds", min=1, max=MAX_LEASE_SECONDS,
                                      help="Lease length (default: the project's policy)."),
    threads: int = typer.Option(None, "--threads", min=1, envvar="ANNOTATE_THREADS",
                                help="CPU threads of the embedded model (default 1)."),
    json_out: bool = typer.Option(False, "--json", help="Print the run's summary as JSON."),
) -> None:
    """Run the LLM roles on the project's queue until no LLM task is left."""
    from annotate.llm.client import make_client
    from annotate.projects.catalog import get_project, project_policy
    from roles.registry import install_routing
    from roles.runner import ledger_totals, run_project, task_counts
    from roles.stages import prepare_cascade

    install_routing()  # the answers' follow-up tasks go to the registered roles
    roles = _roles(role, model)
    progress = RunProgress(ctx)
    with store_from(ctx) as store:
        with store.session() as session:
            project = get_project(session, name)
            project_id, policy = project.id, project_policy(project)
        if model != "dry-run":
            progress.phase(f"checking {model}")
        gateway = make_client(store, project_id, model, workers=workers, threads=threads,
                              reservation_ttl_s=settings_of(ctx).reservation_ttl_s,
                              asyncio_calls=True)  # a hosted model: acompletion on one loop
        load_embedded_model(model, progress)
        if "annotator" in roles:  # a cascade: each stage's annotator answers its tasks
            for stage_model in set(prepare_cascade(policy)) - {model}:
                load_embedded_model(stage_model, progress)
        total = task_counts(store, project_id, roles)
        open_tasks = total.get("pending", 0) + total.get("leased", 0)
        progress.phase(f"running roles ({', '.join(roles)}) with {model} on {open_tasks} "
                       "open tasks")
        started = time.perf_counter()
        with progress.counter(f"{name} ({model})", open_tasks) as update:

            def on_progress(s: Any) -> None:
                rate = (s.done + s.failed) / max(time.perf_counter() - started, 1e-9)
                update(s.done + s.failed, f"{rate:.1f}/s · ${s.cost_usd:.4f} · cache hits "
                       f"{s.cache_hits} · failed {s.failed}")

            stats = run_project(store, name, gateway, model=model, roles=roles,
                                workers=workers, limit=limit, lease_seconds=lease_seconds,
                                on_progress=on_progress, batch_size=batch)
        totals = ledger_totals(store, project_id)
        tasks = task_counts(store, project_id, roles)
        people = _open_human_tasks(store, project_id)
    summary = {"done": stats.done, "failed_attempts": stats.failed,
               "tasks": {"pending": tasks.get("pending", 0), "leased": tasks.get("leased", 0),
                         "done": tasks.get("done", 0), "failed": tasks.get("failed", 0)},
               "by_role": stats.by_role, "cache_hits": stats.cache_hits,
               "lost_leases": stats.conflicts, "cost_usd": stats.cost_usd,
               "seconds": round(stats.seconds, 2), "ledger": totals,
               "stopped_by": stats.stopped_by, "open_human_tasks": people}
    if json_out:
        print_json(summary)
    else:
        _print_summary(summary)
    if stats.stopped_by:
        raise BudgetExceeded(stats.stopped_by)


def _roles(role: list[str] | None, model: str) -> tuple[str, ...]:
    from roles.distilled import is_distilled, load_distilled
    from roles.registry import role_names as registered_roles

    registered = registered_roles()
    roles = tuple(dict.fromkeys(role)) if role else registered
    unknown = sorted(set(roles) - set(registered))
    if unknown:
        raise InvalidInput(f"unknown role(s) {', '.join(unknown)}; "
                           f"choose from {', '.join(registered)}")
    if is_distilled(model):
        # A distilled model is a classifier: it annotates, it cannot help or moderate.
        if role and set(roles) != {"annotator"}:
            raise InvalidInput(f"{model} can only take the annotator role; run the helper "
                               "and moderator with an LLM (--role helper --model ...)")
        roles = ("annotator",)
        load_distilled(model)  # a missing or broken model is one clear error, before any task
    return roles


RunCommand = names_in_help(roles=role_names)  # register `run` with cls=RunCommand


def load_embedded_model(model: str, progress: RunProgress) -> None:
    """Load the embedded model before claiming anything (a broken install fails here)."""
    from annotate.llm.model_check import is_embedded, load_embedded

    if is_embedded(model):
        progress.phase("loading the embedded model")
        load_embedded()


def _print_summary(summary: dict[str, Any]) -> None:
    roles_done = ", ".join(f"{k} {v}" for k, v in sorted(summary["by_role"].items())) or "none"
    tasks = summary["tasks"]
    out.print(f"done {summary['done']} tasks ({roles_done}) in {summary['seconds']:.1f} s; "
              f"failed attempts {summary['failed_attempts']}; cache hits "
              f"{summary['cache_hits']}; cost ${summary['cost_usd']:.4f}", highlight=False)
    out.print(f"LLM tasks now: {tasks['done']} done, {tasks['failed']} failed, "
              f"{tasks['pending']} pending, {tasks['leased']} leased by other workers",
              highlight=False)
    if summary["open_human_tasks"]:
        out.print(f"{summary['open_human_tasks']} tasks wait for people: annotate ui",
                  highlight=False)


def _open_human_tasks(store: Any, project_id: int) -> int:
    from sqlalchemy import func, select

    from annotate.store.models import Task

    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(Task).where(
            Task.project_id == project_id, Task.worker_kind == "human",
            Task.status.in_(("pending", "leased")))) or 0)
