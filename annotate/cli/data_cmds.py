"""Import and export commands."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from annotate.cli.common import console, out, print_json, store_from
from annotate.errors import InvalidInput
from annotate.projects import get_project

FORMATS = ("jsonl", "csv", "parquet")


def import_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Project name."),
    path: Path = typer.Argument(..., help="CSV or JSONL file (see README: Import formats)."),
    fmt: str = typer.Option("auto", "--format", help="auto, csv, jsonl, longform, spans, "
                            "pairwise or export (our own JSONL export)."),
    json_out: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
) -> None:
    """Import items (and their existing labels) in one transaction: all rows or none."""
    from annotate.importing import import_file

    if not path.exists():
        raise InvalidInput(f"{path}: no such file")
    with store_from(ctx) as store, Progress(
        TextColumn("importing"), BarColumn(), TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(), console=console, transient=True, disable=json_out,
    ) as progress:
        bar = progress.add_task("import", total=None)
        with store.session() as session:
            project = get_project(session, name)
            result = import_file(session, project, path, fmt=fmt,
                                 on_progress=lambda n: progress.update(bar, completed=n))
    counts = {"items": result.items, "annotations": result.annotations, "tasks": result.tasks}
    if json_out:
        print_json(counts)
    else:
        out.print(f"imported {result.items:,} items, {result.annotations:,} annotations; "
                  f"created {result.tasks:,} tasks")


def export_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Project name."),
    fmt: str = typer.Option("jsonl", "--format", "-f", help="jsonl, csv or parquet."),
    output: Path = typer.Option(None, "--output", "-o", help="Output file (default: stdout "
                                "for jsonl/csv, NAME.parquet for parquet)."),
) -> None:
    """Export every item with its annotations and their full provenance."""
    from annotate.exporting import export_project

    if fmt not in FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if output is None and fmt == "parquet":
        output = Path(f"{name}.parquet")
    with store_from(ctx) as store, store.session() as session:
        project = get_project(session, name)
        if output is None:
            n = export_project(session, project, fmt, sys.stdout)
        else:
            n = export_project(session, project, fmt, output)
    if output is not None:
        console.print(f"wrote {n:,} records to {output}")


def register(app: typer.Typer) -> None:
    app.command("import")(import_cmd)
    app.command("export")(export_cmd)
