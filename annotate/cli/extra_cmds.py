"""Commands from the larger modules (demo, report, agreement, roles, Label Studio, UI)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from annotate.cli.common import out, print_json, settings_of, store_from
from annotate.defaults import DEFAULT_MODEL


def demo(
    ctx: typer.Context,
    model: str = typer.Option(DEFAULT_MODEL, "--model", "-m", envvar="ANNOTATE_MODEL",
                              help="Model for the LLM roles (default: the embedded one)."),
    items: int = typer.Option(40, "--items", min=1, max=200,
                              help="How many of the 200 shipped items to use."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="LLM worker threads."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """The main job end to end on the embedded defaults.

    Imports a shipped dataset (ConvAbuse: user messages to chatbots with their recorded
    expert labels), runs the annotator and moderator roles, and prints how the LLM agrees
    with the people; then the helper writes candidate rewrites of a few user messages and
    the demo prints them with their scores.
    """
    from annotate.cli.run_cmd import load_embedded_model
    from annotate.cli.run_progress import RunProgress
    from annotate.llm.client import make_client
    from annotate.llm.model_check import ensure_model_ready
    from annotate.projects.catalog import get_project
    from annotate.services.demo import run_demo
    from roles.runner import LLM_ROLES, ledger_totals, run_project, task_counts

    progress = RunProgress(ctx)
    if model != "dry-run":
        progress.phase(f"checking {model}")
    ensure_model_ready(model)  # before the demo project is replaced
    with store_from(ctx) as store:

        def run_roles(name: str) -> dict[str, Any]:
            with store.session() as session:
                pid = get_project(session, name).id
            gateway = make_client(store, pid, model, workers=workers,
                                  reservation_ttl_s=settings_of(ctx).reservation_ttl_s)
            load_embedded_model(model, progress)
            total = task_counts(store, pid, LLM_ROLES).get("pending", 0)
            progress.phase(f"running the helper, annotator and moderator with {model}")
            with progress.counter(f"LLM roles ({model})", total) as update:
                stats = run_project(store, name, gateway, model=model, workers=workers,
                                    on_progress=lambda s: update(
                                        s.done + s.failed, f"{s.failed} failed attempts, "
                                        f"{s.cache_hits} cache hits"))
            return {"done": stats.done, "by_role": stats.by_role, "failed": stats.failed,
                    "seconds": round(stats.seconds, 1), **ledger_totals(store, pid)}

        summary = run_demo(store, n_items=items, run_roles=run_roles, on_phase=progress.phase)
    if json_out:
        print_json(summary.__dict__)
        return
    _print_demo(summary, model)


def _print_demo(summary: Any, model: str) -> None:
    run, agree = summary.run, summary.agreement
    out.print(f"[bold]{summary.project}[/bold]: {summary.items} items with "
              f"{summary.human_annotations} recorded expert labels")
    calls = int(run.get("calls", 0))
    invalid = int(run.get("not_ok", 0))
    out.print(f"LLM roles ({model}): {run.get('done', 0)} tasks "
              f"({', '.join(f'{k} {v}' for k, v in sorted(run.get('by_role', {}).items()))}) "
              f"in {run.get('seconds', 0)} s; {calls} model calls, invalid outputs "
              f"{invalid}/{calls} ({invalid / max(calls, 1):.0%}), "
              f"cost ${run.get('cost_usd', 0):.4f}")

    def fmt(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.3f}"

    out.print(f"Krippendorff's alpha (nominal): people {fmt(agree.get('alpha_humans'))}, "
              f"people + LLM {fmt(agree.get('alpha_all'))}")
    out.print(f"LLM matches the people's majority on {fmt(agree.get('llm_accuracy'))} of "
              f"{agree.get('llm_items', 0)} items (always answering the most common label: "
              f"{fmt(agree.get('llm_majority_share'))}); accuracy@coverage (always the most "
              "common label on the same items):")
    for row in agree.get("coverage", []):
        out.print(f"  confidence >= {row['threshold']:.1f}: coverage {row['coverage']:.0%}, "
                  f"accuracy {row['accuracy']:.0%} ({row.get('majority_share', 0.0):.0%})")
    _print_helper(summary.helper)
    tasks = summary.status.get("tasks_by_role", {})
    if "adjudicator" in tasks:
        out.print(f"{sum(tasks['adjudicator'].values())} items wait for a person to adjudicate.")
    out.print(f"This model is tiny: its labels are suggestions to check, never truth.\n"
              f"next: annotate ui   ·   annotate report {summary.project} -o report/   ·   "
              f"annotate status {summary.project}")


def _print_helper(items: list[dict[str, Any]]) -> None:
    """The demo's Helper step: each message, its candidates best first with their scores."""
    from annotate.services.demo import HELPER_PROJECT

    if not items:
        return
    found = sum(len(i["candidates"]) for i in items)
    calls = sum(int(i["stats"].get("calls", 1)) for i in items)
    out.print(f"Helper ({HELPER_PROJECT}): {found} distinct candidate rewrites for "
              f"{len(items)} user messages in {calls} model calls, best first:", highlight=False)
    for item in items:
        out.print(f"  {item['text']!r}", highlight=False, markup=False)
        for n, cand in enumerate(item["candidates"], 1):
            scores = cand.get("scores") or {}
            parts = [f"score {cand['score']:.2f}"] if cand.get("score") is not None else []
            if scores.get("meaning") is not None:
                parts.append(f"meaning kept {scores['meaning']:.2f}")
            if scores.get("length_ratio") is not None:
                parts.append(f"length {scores['length_ratio']:.1f}x")
            out.print(f"    {n}. {cand['text']}  ({', '.join(parts)})", highlight=False,
                      markup=False)
        dropped = item["stats"].get("dropped") or {}
        why = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(dropped.items()))
        out.print(f"    or: none fits - write my own{f'   (dropped: {why})' if why else ''}",
                  highlight=False, markup=False)


def report(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Project name."),
    output: Path = typer.Option(Path("report"), "--output", "-o", help="Output folder."),
    bootstrap: int = typer.Option(1000, "--bootstrap", min=0,
                                  help="Bootstrap resamples for confidence intervals."),
    aggregation: str = typer.Option(
        None, "--aggregation", show_default="the project's policy", help="How the final "
        "labels are made: majority, or dawid_skene (votes weighted by each annotator's "
        "estimated competence)."),
) -> None:
    """Write the agreement report: HTML with plots, plus CSV and JSON of every number
    (with each person's and model's competence, Dawid-Skene, with an interval)."""
    from annotate.agreement.aggregate import METHODS
    from annotate.agreement.project_finals import policy_aggregation
    from annotate.agreement.reporting import write_project_report
    from annotate.errors import InvalidInput
    from annotate.projects.catalog import get_project

    if aggregation is not None and aggregation not in METHODS:
        raise InvalidInput(f"--aggregation {aggregation!r}: use one of {', '.join(METHODS)}")
    with store_from(ctx) as store, store.session() as session:
        project = get_project(session, name)
        files = write_project_report(session, project, output, bootstrap,
                                     aggregation or policy_aggregation(project))
    out.print(f"wrote {getattr(files, 'html', output)}")


def ui(
    ctx: typer.Context,
    port: int = typer.Option(8501, "--port", help="Port to serve on."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind (put a TLS "
                             "reverse proxy in front for a team: docs/ui.md)."),
) -> None:
    """Start the annotator web UI (Streamlit) on the database given by --db."""
    from annotate.cli.common import db_url
    from ui.launch import run_ui

    raise typer.Exit(run_ui(db_url(ctx), port, host))


def register(app: typer.Typer) -> None:
    from annotate.cli.agreement_cmd import agreement
    from annotate.cli.doctor_cmd import doctor
    from annotate.cli.expert_cmd import expert_app
    from annotate.cli.run_cmd import RunCommand, run

    app.command("demo")(demo)
    app.command("run", cls=RunCommand)(run)
    app.command("report")(report)
    app.command("doctor")(doctor)
    app.command("agreement")(agreement)
    from annotate.cli.distill_cmd import distill
    from annotate.cli.pilot_cmd import pilot

    app.command("pilot")(pilot)
    app.command("distill")(distill)
    app.add_typer(expert_app, name="expert")
    from annotate.cli.labelstudio_cmd import ls_app
    from annotate.cli.people_cmd import people_app

    app.command("ui")(ui)
    app.add_typer(people_app, name="people", help="People who sign in to the UI: add, invite, "
                  "tokens, list.")
    app.add_typer(ls_app, name="ls", help="Label Studio: config, push predictions, pull "
                  "annotations, serve the roles as an ML backend.")
