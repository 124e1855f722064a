"""Project, policy, status and database commands."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from annotate.cli.common import (
    CommandsGroup,
    db_url,
    names_in_help,
    out,
    print_json,
    store_from,
)
from annotate.cli.names import kind_names
from annotate.errors import InvalidInput
from annotate.infile import read_text_file

if TYPE_CHECKING:  # the commands import what they use when they run (annotate --help is fast)
    from annotate.kinds.schema import LabelSchema

project_app = typer.Typer(cls=CommandsGroup, help="Create and list projects.",
                          no_args_is_help=True)
policy_app = typer.Typer(cls=CommandsGroup, help="Show or set a project's routing policy.",
                         no_args_is_help=True)
db_app = typer.Typer(cls=CommandsGroup, help="Database maintenance.", no_args_is_help=True)


def _schema_from(kind: str, labels: str | None, schema_file: Path | None) -> LabelSchema:
    from annotate.kinds.schema import TASK_KINDS, LabelSchema, parse_schema

    if kind not in TASK_KINDS:
        raise InvalidInput(f"unknown kind {kind!r}; choose one of {', '.join(TASK_KINDS)}")
    if schema_file is not None:
        try:
            data = json.loads(read_text_file(schema_file, "schema"))
        except (ValueError, RecursionError) as exc:
            raise InvalidInput(f"{schema_file}: cannot read schema: {exc}") from None
        return parse_schema(data, kind, source=str(schema_file))
    names = [x.strip() for x in labels.split(",") if x.strip()] if labels else None
    return LabelSchema.default(kind, names)


@project_app.command("create", cls=names_in_help(kinds=kind_names))
def project_create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Unique project name."),
    kind: str = typer.Option(..., "--kind", "-k", help="Task kind: {kinds}."),
    labels: str = typer.Option(None, "--labels", "-l", help="Comma-separated labels "
                               "(options for choice, features for rating)."),
    schema_file: Path = typer.Option(None, "--schema", help="JSON label schema file."),
    guideline: Path = typer.Option(None, "--guideline", help="Markdown guideline file."),
    policy_file: Path = typer.Option(None, "--policy", help="Routing policy file (JSON/TOML)."),
    budget: float = typer.Option(None, "--budget", help="LLM budget cap in USD."),
    json_out: bool = typer.Option(False, "--json", help="Print the project as JSON."),
) -> None:
    """Create a project with a label schema, a first guideline version and the default policy."""
    from annotate.projects.catalog import create_project
    from annotate.projects.policy import load_policy

    schema = _schema_from(kind, labels, schema_file)
    text = None
    if guideline is not None:
        text = read_text_file(guideline, "guideline")
    policy = load_policy(policy_file) if policy_file else None
    with store_from(ctx) as store, store.session() as session:
        project = create_project(session, name, schema, policy=policy, guideline=text,
                                 budget_usd=budget)
        info = {"id": project.id, "name": project.name, "kind": project.kind,
                "schema": project.schema_json}
    if json_out:
        print_json(info)
    else:
        out.print(f"created project [bold]{name}[/bold] ({schema.kind}); next: "
                  f"annotate import {name} FILE")


@project_app.command("list")
def project_list(ctx: typer.Context,
                 json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List projects with their item counts."""
    from annotate.projects.catalog import list_projects, project_status

    with store_from(ctx) as store, store.session() as session:
        rows = [project_status(session, p).as_dict() for p in list_projects(session)]
    if json_out:
        print_json(rows)
        return
    table = Table("name", "kind", "items", "tasks open", "annotations", "cost $")
    for r in rows:
        open_ = r["tasks"].get("pending", 0) + r["tasks"].get("leased", 0)
        table.add_row(r["name"], r["kind"], str(r["items"]), str(open_),
                      str(sum(r["annotations"].values())), f"{r['cost_usd']:.4f}")
    out.print(table if rows else "no projects yet: annotate project create NAME --kind ...")


@project_app.command("show")
def project_show(ctx: typer.Context, name: str,
                 json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show a project's schema and policy."""
    from annotate.projects.catalog import get_project, project_policy, project_schema

    with store_from(ctx) as store, store.session() as session:
        project = get_project(session, name)
        info = {"name": project.name, "kind": project.kind,
                "schema": project_schema(project).model_dump(mode="json"),
                "policy": project_policy(project).model_dump(mode="json"),
                "budget_usd": project.budget_usd}
    if json_out:
        print_json(info)
    else:
        out.print_json(data=info)


@policy_app.command("show")
def policy_show(ctx: typer.Context, name: str,
                json_out: bool = typer.Option(False, "--json", help="Print JSON only.")) -> None:
    """Print the routing policy stored with the project."""
    from annotate.pilot.calibrate import calibration_lines
    from annotate.projects.catalog import get_project, project_policy

    with store_from(ctx) as store, store.session() as session:
        project = get_project(session, name)
        policy = project_policy(project)
        calibration = calibration_lines(session, project)
    if json_out:
        print_json(policy.model_dump(mode="json"))
        return
    table = Table("setting", "value", "meaning")
    for key, field in type(policy).model_fields.items():
        table.add_row(key, policy.setting_text(key), field.description or "")
    out.print(table)
    for line in calibration:  # which calibrator turns the raw signal into `confidence`
        out.print(line, soft_wrap=True, highlight=False)


@policy_app.command("set")
def policy_set(ctx: typer.Context, name: str,
               path: Path = typer.Argument(..., help="Policy file (JSON or TOML)."),
               dry_run: bool = typer.Option(False, "--dry-run",
                                            help="Print what would change; change nothing."),
               json_out: bool = typer.Option(False, "--json", help="Print the change as JSON.")
               ) -> None:
    """Replace the project's routing policy and bring the items already imported in line:
    missing tasks are created, pending tasks it no longer wants are cancelled."""
    from annotate.projects.catalog import get_project
    from annotate.projects.policy import load_policy
    from annotate.queue.reconcile import set_policy
    from roles.stages import check_cascade

    policy = load_policy(path)
    check_cascade(policy)  # unknown annotators: one line before anything changes
    with store_from(ctx) as store, store.session() as session:
        change = set_policy(session, get_project(session, name), policy, dry_run=dry_run)
    if json_out:
        print_json(change.as_dict())
    elif dry_run:
        out.print(f"dry run, nothing changed: {change.describe()}", markup=False)
    else:
        out.print(f"policy of {name} updated: {change.describe()}", markup=False)


def status(ctx: typer.Context, name: str,
           json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Items, tasks by state, annotations by annotator kind, and cost so far (with a cascade:
    items decided and cost per stage; with the Helper's candidates: how often each person
    chose one, edited one or wrote their own)."""
    from annotate.projects.catalog import get_project, project_status
    from annotate.services.cascade_stages import stage_rows
    from annotate.services.choice_trace import choice_rows

    with store_from(ctx) as store, store.session() as session:  # rows, not frames: no pandas
        project = get_project(session, name)
        info = project_status(session, project).as_dict()
        stages = stage_rows(session, project)
        choices = choice_rows(session, project.id)
    if stages:
        info["cascade"] = stages
    if choices:
        info["candidate_choice"] = choices
    if json_out:
        print_json(info)
        return
    out.print(f"[bold]{info['name']}[/bold] ({info['kind']}): {info['items']} items")
    table = Table("role", *sorted({s for r in info["tasks_by_role"].values() for s in r}))
    states = table.columns[1:]
    for role, counts in sorted(info["tasks_by_role"].items()):
        table.add_row(role, *[str(counts.get(str(c.header), 0)) for c in states])
    if info["tasks_by_role"]:
        out.print(table)
    ann = ", ".join(f"{k}: {v}" for k, v in sorted(info["annotations"].items())) or "none"
    budget = f" of {info['budget_usd']:.2f}" if info["budget_usd"] is not None else ""
    out.print(f"annotations: {ann}\nLLM calls: {info['llm_calls']}, "
              f"cost ${info['cost_usd']:.4f}{budget}")
    if stages:
        _print_stages(stages)
    if choices:
        _print_choices(choices)


def _print_stages(stages: list[dict[str, Any]]) -> None:
    """The cascade, stage by stage: reached, decided, passed on, failed, cost."""
    table = Table("stage", ">=", "reached", "decided", "passed on", "cost", "per item",
                  title="cascade (failed tasks are passed on)")
    for row in stages:
        if row["stage"] == "people":
            table.add_row("people", "", str(row["reached"]), str(row["decided"]), "", "", "")
            continue
        table.add_row(f"{row['stage']}. {row['annotator']}", f"{row['threshold']:g}",
                      str(row["reached"]), str(row["decided"]), str(row["passed_on"]),
                      _usd(row["cost_usd"]), _usd(row["cost_per_item_usd"]))
    out.print(table)


def _print_choices(choices: list[dict[str, Any]]) -> None:
    """Per person: the share of answers that chose a Helper candidate as it was, edited one
    or wrote their own, with the median seconds of each."""
    table = Table("person", "answers", "chose", "edited", "own", title="the Helper's "
                  "candidates: share of answers (median seconds an item)")
    for row in choices:
        table.add_row(row["person"], str(row["answers"]), *[
            _share(row[f"{a}_share"], row[f"median_s_{a}"]) for a in ("chose", "edited", "own")])
    out.print(table)


def _share(share: float, seconds: float | None) -> str:
    known = seconds is not None and not math.isnan(seconds)
    return f"{share:.0%}" + (f" ({seconds:.1f} s)" if known else "")


def _usd(value: float) -> str:
    return f"${value:.4f}" if value == 0 or value >= 0.01 else f"${value:.2g}"


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply pending migrations (also done automatically on first use)."""
    from annotate.store.engine import head_revision, open_store, upgrade

    store = open_store(db_url(ctx), migrate=False)
    try:
        applied = upgrade(store)
        out.print(f"database at {head_revision(store)}"
                  + (" (migrated)" if applied else " (already up to date)"))
    finally:
        store.dispose()


@db_app.command("current")
def db_current(ctx: typer.Context,
               json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show the database's migration revision and the newest one this version knows."""
    from annotate.store.engine import current_revision, head_revision, open_store

    store = open_store(db_url(ctx), migrate=False)
    try:
        info = {"current": current_revision(store), "head": head_revision(store),
                "dialect": store.dialect}
    finally:
        store.dispose()
    if json_out:
        print_json(info)
    else:
        out.print(f"{info['dialect']}: revision {info['current']} (head {info['head']})")


def register(app: typer.Typer) -> None:
    app.add_typer(project_app, name="project")
    app.add_typer(policy_app, name="policy")
    app.add_typer(db_app, name="db")
    app.command("status")(status)
