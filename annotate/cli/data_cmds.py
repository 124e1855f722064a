"""Import and export commands."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from annotate.cli.common import console, out, print_json, store_from
from annotate.cli.progress import CommandProgress, progress_mode
from annotate.errors import InvalidInput
from annotate.outfile import STDOUT, check_target
from annotate.projects.catalog import get_project


def import_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Project name."),
    path: Path = typer.Argument(..., help="CSV or JSONL file (see README: Import formats)."),
    fmt: str = typer.Option("auto", "--format", help="auto, csv, jsonl, longform, spans, "
                            "pairwise or export (our own JSONL export)."),
    json_out: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
) -> None:
    """Import items (and their existing labels) in one transaction: all rows or none."""
    from annotate.io.importing import import_file

    if not path.exists():
        raise InvalidInput(f"{path}: no such file")
    mode = progress_mode(ctx)
    with store_from(ctx) as store, Progress(
        TextColumn("importing"), BarColumn(), TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(), console=console, transient=True, disable=mode != "live",
    ) as progress, CommandProgress("import", "lines" if mode == "lines" else "off") as log:
        log.phase(f"reading {path} into {name}...")  # a log hears of it after a few seconds
        bar = progress.add_task("import", total=None)

        def on_rows(rows: int) -> None:
            progress.update(bar, completed=rows)
            log.count("rows read", rows)

        with store.session() as session:
            project = get_project(session, name)
            result = import_file(session, project, path, fmt=fmt, on_progress=on_rows)
    counts = {"items": result.items, "annotations": result.annotations, "tasks": result.tasks}
    if json_out:
        print_json(counts)
    else:
        out.print(f"imported {result.items:,} items, {result.annotations:,} annotations; "
                  f"created {result.tasks:,} tasks")


def export_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Project name."),
    fmt: str = typer.Option("jsonl", "--format", "-f", help="jsonl, csv or parquet (or a "
                            "plugin exporter's name)."),
    output: str = typer.Option(None, "--output", "-o", help="Output file, `-` for stdout "
                               "(default: stdout for jsonl/csv, NAME.parquet for parquet). "
                               "Written whole or not at all."),
    force: bool = typer.Option(False, "--force", help="Write into a FIFO, device or the "
                               "file a symlink points to instead of refusing."),
) -> None:
    """Export every item with its annotations and their full provenance."""
    from annotate.io.exporting import available_exporters, export_project

    exporters = available_exporters()
    if fmt not in exporters:
        raise InvalidInput(f"unknown format {fmt!r}; choose one of {', '.join(exporters)}")
    binary = bool(getattr(exporters[fmt], "binary", False))
    if output is None:
        output = f"{name}.parquet" if fmt == "parquet" else STDOUT
    if output == STDOUT and binary and sys.stdout.isatty():
        raise InvalidInput(f"{fmt} is binary; write it to a file with -o FILE or pipe it")
    if output != STDOUT:
        check_target(Path(output), force=force)  # refuse before any work
    with store_from(ctx) as store, store.session() as session:
        project = get_project(session, name)
        if output == STDOUT:
            stream = sys.stdout.buffer if binary else sys.stdout
            result = export_project(session, project, fmt, stream)
            stream.flush()
        else:
            result = export_project(session, project, fmt, output, force=force)
    if output != STDOUT:
        console.print(f"wrote {result.items:,} items with {result.annotations:,} annotations "
                      f"to {escape(output)}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("import")(import_cmd)
    app.command("export")(export_cmd)
