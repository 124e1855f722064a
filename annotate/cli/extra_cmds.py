"""Commands from the larger modules (demo, agreement, roles, Label Studio, UI)."""

from __future__ import annotations

import typer

from annotate.cli.common import out, print_json, store_from


def demo(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Run the main job end to end on the embedded defaults: import a shipped dataset
    (ConvAbuse, 200 items with their recorded expert labels), run the LLM roles, print
    the results."""
    from annotate.demo import run_demo

    with store_from(ctx) as store:
        summary = run_demo(store)
    if json_out:
        print_json(summary.__dict__)
        return
    out.print(f"[bold]{summary.project}[/bold]: imported {summary.items} items with "
              f"{summary.human_annotations} recorded human labels "
              f"in {summary.seconds:.1f} s")
    for role, counts in sorted(summary.status["tasks_by_role"].items()):
        out.print(f"  {role} tasks: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for note in summary.notes:
        out.print(note)
    out.print(f"next: annotate status {summary.project}")


def register(app: typer.Typer) -> None:
    from annotate.cli.agreement_cmd import agreement
    from annotate.cli.run_cmd import run

    app.command("demo")(demo)
    app.command("run")(run)
    app.command("agreement")(agreement)
