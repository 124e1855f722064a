"""Import and export commands.

``--format`` takes every registered format, plugins included; its help lists them when it is
shown (reading the entry points then, not when every command starts).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.markup import escape

from annotate.cli.common import console, names_in_help, out, print_json, store_from
from annotate.cli.names import exporter_names, reader_names
from annotate.cli.progress import CommandProgress, progress_mode
from annotate.errors import InvalidInput
from annotate.outfile import STDOUT, check_target

FORMATS = "{formats}"  # filled with the registered names when the help is shown


def import_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Project name."),
    path: Path = typer.Argument(..., help="CSV or JSONL file (see README: Import formats)."),
    fmt: str = typer.Option("auto", "--format", help="auto (from the extension and the first "
                            f"record) or one of: {FORMATS}."),
    json_out: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
    extend_schema: bool = typer.Option(False, "--extend-schema", help="Add labels the "
                                       "answers use that the project's schema lacks (a new "
                                       "guideline version lists them) instead of refusing."),
) -> None:
    """Import items (and their existing labels) in one transaction: all rows or none.

    labelstudio: Label Studio's JSON export, tasks with annotations and predictions.
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from annotate.io.importing import import_file
    from annotate.io.importing.formats import load_reader
    from annotate.projects.catalog import get_project
    from roles.registry import install_routing

    if fmt != "auto":
        load_reader(fmt)  # an unknown format is one line naming the known ones, before any work
    install_routing()  # the items' first tasks go to the registered roles
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
            try:
                result = import_file(session, project, path, fmt=fmt, on_progress=on_rows,
                                     extend_schema=extend_schema)
            except InvalidInput as exc:
                if extend_schema or "is not in the schema" not in str(exc):
                    raise
                raise InvalidInput(f"{exc}; to add the file's labels to the project, import "
                                   "again with --extend-schema") from exc
    counts = {"items": result.items, "annotations": result.annotations, "tasks": result.tasks,
              "skipped": result.skipped, "labels_added": result.labels_added}
    if json_out:
        print_json(counts)
        return
    out.print(f"imported {result.items:,} items, {result.annotations:,} annotations; "
              f"created {result.tasks:,} tasks", highlight=False)
    if result.skipped:
        first = f" (first: {result.notes[0]})" if result.notes else ""
        out.print(escape(f"skipped {result.skipped:,} answers{first}"), highlight=False)
    if result.labels_added:
        out.print(escape(f"added to the schema: {', '.join(result.labels_added)}"),
                  highlight=False)


def export_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Project name."),
    fmt: str = typer.Option("jsonl", "--format", "-f", help=f"One of: {FORMATS}."),
    output: str = typer.Option(None, "--output", "-o", help="Output file, `-` for stdout "
                               "(default: stdout for jsonl/csv, NAME.parquet for parquet, "
                               "the directory NAME-hf for hf, NAME.spacy for spacy). "
                               "Written whole or not at all."),
    force: bool = typer.Option(False, "--force", help="Write into a FIFO, device or the "
                               "file a symlink points to instead of refusing."),
    seed: int = typer.Option(None, "--seed", help="hf: seed of the train/validation split "
                             "(default 0)."),
    validation: float = typer.Option(None, "--validation", help="hf: share of the distinct "
                                     "texts in the validation split (default 0.2)."),
    lang: str = typer.Option(None, "--lang", help="spacy: the language of spacy.blank "
                             "(default xx, multilingual)."),
) -> None:
    """Export every item with its annotations and their full provenance."""
    from annotate.io.export_formats.folder import check_directory_target
    from annotate.io.exporting import export_project, exporter_names, load_exporter
    from annotate.projects.catalog import get_project

    if fmt not in exporter_names():
        raise InvalidInput(f"unknown format {fmt!r}; choose one of {', '.join(exporter_names())}")
    exporter = load_exporter(fmt)
    binary = bool(getattr(exporter, "binary", False))
    folder = bool(getattr(exporter, "writes_directory", False))
    options = {k: v for k, v in (("seed", seed), ("validation", validation), ("lang", lang))
               if v is not None}
    if output is None:
        default = getattr(exporter, "default_output", None)
        output = (default.format(name=name) if default
                  else f"{name}.parquet" if fmt == "parquet" else STDOUT)
    if output == STDOUT and (folder or (binary and sys.stdout.isatty())):
        raise InvalidInput(f"{fmt} is {'a directory' if folder else 'binary'}; write it with "
                           f"-o {'DIR' if folder else 'FILE'}{'' if folder else ' or pipe it'}")
    if folder:
        check_directory_target(Path(output), fmt, getattr(exporter, "directory_marker", None))
    elif output != STDOUT:
        check_target(Path(output), force=force)  # refuse before any work
    with store_from(ctx) as store, store.session() as session:
        project = get_project(session, name)
        finals = None
        if hasattr(exporter, "finals"):  # a format with final answers: the policy's aggregation
            from annotate.agreement.project_finals import aggregated_values  # pandas: 1-2 s

            finals = aggregated_values(session, project)
        if output == STDOUT:
            stream = sys.stdout.buffer if binary else sys.stdout
            result = export_project(session, project, fmt, stream, options=options,
                                    finals=finals)
            stream.flush()
        else:
            result = export_project(session, project, fmt, output, force=force,
                                    options=options, finals=finals)
    if output != STDOUT:
        console.print(f"wrote {result.items:,} items with {result.annotations:,} annotations "
                      f"to {escape(output)}", highlight=False)
    if result.cannot_carry:  # on stderr, so a piped export stays clean
        console.print(escape(f"{fmt} cannot carry: {'; '.join(result.cannot_carry)}"),
                      highlight=False)


def register(app: typer.Typer) -> None:
    app.command("import", cls=names_in_help(formats=reader_names))(import_cmd)
    app.command("export", cls=names_in_help(formats=exporter_names))(export_cmd)
