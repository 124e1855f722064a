"""`annotate ls ...`: the Label Studio commands, as a Typer sub-app (``ls_app``).

Mount with ``app.add_typer(ls_app, name="ls")``. Domain errors print one line and exit 2.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from annotate.cli.common import CommandsGroup, settings_of
from annotate.defaults import DEFAULT_DB_URL
from annotate.errors import AnnotateError

if TYPE_CHECKING:
    from annotate.integrations.labelstudio.backend_auth import BasicCredentials
    from annotate.store.engine import Store

ls_app = typer.Typer(
    cls=CommandsGroup,
    name="ls",
    help="Label Studio: labeling config, push LLM pre-labels, pull people's answers, ML backend.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)

DB_OPTION = typer.Option(None, "--db", help="Database URL (default: $ANNOTATE_DB or "
                         f"{DEFAULT_DB_URL}, or the main command's --db).")
URL_OPTION = typer.Option(..., "--url", envvar="LABEL_STUDIO_URL",
                          help="Label Studio base URL, e.g. http://localhost:8080.")
TOKEN_OPTION = typer.Option(..., "--token", envvar="LABEL_STUDIO_API_KEY",
                            help="Legacy API token or personal access token.")


def _db(ctx: typer.Context, db: str | None) -> str:
    if db:
        return db
    return settings_of(ctx).db  # the main command's --db, else ANNOTATE_DB, else the default


@contextmanager
def _store(ctx: typer.Context, db: str | None) -> Iterator[Store]:
    """The store for one command; a domain error becomes one line on stderr and exit 2."""
    from annotate.store.engine import open_store

    try:
        store = open_store(_db(ctx, db))
        try:
            yield store
        finally:
            store.dispose()
    except AnnotateError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None


def _print_report(report: Any, as_json: bool) -> None:
    data = asdict(report)
    if as_json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return
    invalid = data.pop("invalid", [])
    print(", ".join(f"{k}={v}" for k, v in data.items()))
    for key, reason in invalid[:20]:
        err.print(f"not valid, not sent: {key}: {reason}", highlight=False, soft_wrap=True)
    if len(invalid) > 20:
        err.print(f"... and {len(invalid) - 20} more invalid answers")


@ls_app.command("config")
def config_cmd(ctx: typer.Context, name: str = typer.Argument(..., help="Project name."),
               db: str | None = DB_OPTION) -> None:
    """Print the Label Studio labeling config (XML) generated from the project's schema."""
    from annotate.integrations.labelstudio.config import labeling_config
    from annotate.projects.catalog import get_project, project_schema

    with _store(ctx, db) as store, store.session() as session:
        print(labeling_config(project_schema(get_project(session, name))), end="")


@ls_app.command("push")
def push_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Project name."),
    url: str = URL_OPTION,
    token: str = TOKEN_OPTION,
    ls_project: int | None = typer.Option(None, "--ls-project",
                                          help="Push into this Label Studio project id."),
    batch_size: int = typer.Option(100, "--batch-size", min=1, help="Tasks per request."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    db: str | None = DB_OPTION,
) -> None:
    """Create/update the Label Studio project; import items as tasks, LLM answers as predictions."""
    from annotate.cli.progress import command_progress
    from annotate.integrations.labelstudio.push import push

    with _store(ctx, db) as store, command_progress(ctx, "ls push") as progress:
        progress.phase(f"pushing {name} to {url}")

        def on_progress(done: int, total: int) -> None:
            progress.count("items sent", done, total)

        report = push(store, name, url, token, ls_project, on_progress, batch_size=batch_size)
    _print_report(report, as_json)


@ls_app.command("pull")
def pull_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Project name."),
    url: str = URL_OPTION,
    token: str = TOKEN_OPTION,
    ls_project: int | None = typer.Option(None, "--ls-project",
                                          help="Pull from this Label Studio project id."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    db: str | None = DB_OPTION,
) -> None:
    """Bring completed annotations back as human annotations (updated, deleted, skipped too)."""
    from annotate.cli.progress import command_progress
    from annotate.integrations.labelstudio.pull import pull

    with _store(ctx, db) as store, command_progress(ctx, "ls pull") as progress:
        progress.phase(f"pulling the annotations of {name} from {url}")
        report = pull(store, name, url, token, ls_project, on_phase=progress.phase)
    _print_report(report, as_json)


@ls_app.command("backend")
def backend_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Project name."),
    port: int = typer.Option(9090, "--port", min=0, max=65535, help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    auth_user: str = typer.Option("annotate", "--auth-user", envvar="ANNOTATE_BACKEND_USER",
                                  help="HTTP Basic user Label Studio sends."),
    auth_pass: str | None = typer.Option(
        None, "--auth-pass", envvar="ANNOTATE_BACKEND_PASSWORD", show_default=False,
        help="HTTP Basic password (16+ characters; the env var keeps it out of `ps`). "
             "Default: a random one, printed once at start."),
    no_auth: bool = typer.Option(False, "--no-auth",
                                 help="No credentials; only with a loopback --host."),
    max_tasks: int = typer.Option(1000, "--max-tasks", min=1, max=1_000_000,
                                  help="Tasks per /predict request; more is refused (413)."),
    max_body_mb: float = typer.Option(10.0, "--max-body-mb", min=0.001, max=1024.0,
                                      help="Largest request body in MB (413 beyond)."),
    read_timeout: float = typer.Option(10.0, "--read-timeout", min=0.1, max=3600.0,
                                       help="Seconds a request may take to arrive (408)."),
    chunk_size: int = typer.Option(4, "--chunk-size", min=1, max=10_000,
                                   help="Tasks per turn at the model: requests take turns."),
    model_slots: int = typer.Option(1, "--model-slots", min=1, max=256,
                                    help="Predictions at once (more for a hosted model)."),
    db: str | None = DB_OPTION,
) -> None:
    """Serve the project's LLM annotator as a Label Studio ML backend (model loaded once),
    behind HTTP Basic credentials (Label Studio: Settings > Model > Basic Authentication)."""
    from annotate.integrations.labelstudio.backend import (
        BackendLimits,
        BackendServer,
        serve_backend,
    )
    from annotate.integrations.labelstudio.predictor import load_predictor

    with _store(ctx, db) as store:
        credentials, generated = _backend_credentials(host, auth_user, auth_pass, no_auth)
        limits = BackendLimits(max_body_bytes=int(max_body_mb * 1024 * 1024),
                               max_tasks=max_tasks, read_timeout_s=read_timeout,
                               chunk_size=chunk_size, model_slots=model_slots)

        def ready(server: BackendServer) -> None:
            err.print(f"ML backend for {name!r} on {server.url} "
                      f"(model_version {server.service.model_version}); connect it in Label "
                      "Studio under Settings > Model, or POST /api/ml/", highlight=False,
                      soft_wrap=True)
            if credentials is None:
                err.print("no authentication (--no-auth): anyone on this machine can call it",
                          highlight=False)
            elif generated:  # shown once, here; never logged
                err.print(f"Basic Authentication: user {credentials.user}, password "
                          f"{credentials.password} (generated, shown once; set "
                          "ANNOTATE_BACKEND_PASSWORD to keep one across restarts)",
                          highlight=False, soft_wrap=True, markup=False)
            else:
                err.print(f"Basic Authentication: user {credentials.user}, password as given",
                          highlight=False, markup=False)

        settings = settings_of(ctx)
        predictor = load_predictor(store, name, settings.model,
                                   reservation_ttl_s=settings.reservation_ttl_s)
        serve_backend(store, name, predictor, host, port, credentials=credentials,
                      limits=limits, on_ready=ready)
    err.print(f"ML backend for {name!r} stopped", highlight=False)


def _backend_credentials(host: str, user: str, password: str | None,
                         no_auth: bool) -> tuple[BasicCredentials | None, bool]:
    """``(credentials or None, whether the password was generated)``."""
    from annotate.errors import InvalidInput
    from annotate.integrations.labelstudio.backend_auth import BasicCredentials, check_open_access

    if no_auth:
        if password:
            raise InvalidInput("--no-auth and a password (--auth-pass or "
                               "ANNOTATE_BACKEND_PASSWORD) contradict each other; drop one")
        check_open_access(host)
        return None, False
    if password:
        return BasicCredentials(user, password), False
    return BasicCredentials.generated(user), True
