"""`annotate doctor`: what this installation has, and what to do about what it lacks.

Each check is a line: ok or FAIL, what was found, and the fix. Nothing is written: the
database is opened without migrating (a SQLite file that does not exist yet is not created)
and no model is called. API keys are reported by the name of their variable, never the value.
Exit 0 when the default job (the database and the models asked for) can run, 2 otherwise.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import typer

from annotate.cli.common import db_url, out, print_json, settings_of
from annotate.errors import AnnotateError

LS_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None


def doctor(
    ctx: typer.Context,
    model: list[str] = typer.Option(None, "--model", "-m", help="Models to check (repeatable; "
                                    "default: ANNOTATE_MODEL or the embedded model)."),
    ls_url: str = typer.Option(None, "--ls-url", envvar="LABEL_STUDIO_URL",
                               help="Label Studio to check (default: $LABEL_STUDIO_URL)."),
    json_out: bool = typer.Option(False, "--json", help="Print the checks as JSON."),
) -> None:
    """Check the installation: database and migration level, the embedded model file,
    litellm, the models' API keys (present or not, never their values), Label Studio,
    threads. Exit 0 when the default job can run, 2 otherwise (the fix is on each line)."""
    models = list(dict.fromkeys(model or [settings_of(ctx).model]))
    checks = [check_database(db_url(ctx)), check_litellm(),
              *[check_model_line(m) for m in models]]
    if ls_url:
        checks.append(check_label_studio(ls_url))
    checks.append(check_threads(settings_of(ctx).threads))
    healthy = all(c.ok for c in checks)
    if json_out:
        print_json({"ok": healthy, "checks": [asdict(c) for c in checks]})
    else:
        for c in checks:
            mark = "ok  " if c.ok else "FAIL"
            fix = f" -> fix: {c.fix}" if c.fix and not c.ok else ""
            out.print(f"{mark} {c.name:<12} {c.detail}{fix}", highlight=False, markup=False,
                      soft_wrap=True)
        out.print("ready" if healthy else "not ready: fix the FAIL lines above",
                  highlight=False)
    if not healthy:
        raise typer.Exit(2)


def check_database(url: str) -> Check:
    from sqlalchemy.engine import make_url

    from annotate.store.engine import current_revision, head_revision, open_store
    from annotate.store.urls import normalise_url

    try:
        full = normalise_url(url)
        shown = make_url(full).render_as_string(hide_password=True)
    except AnnotateError as exc:
        return Check("database", False, str(exc), "pass --db sqlite:///FILE.db or "
                     "postgresql+psycopg://USER@HOST/DB (or set ANNOTATE_DB)")
    except Exception as exc:  # make_url: not a URL at all
        return Check("database", False, f"not a database URL ({exc})",
                     "pass --db sqlite:///FILE.db (or set ANNOTATE_DB)")
    parsed = make_url(full)
    if parsed.get_backend_name() == "sqlite" and parsed.database and \
            parsed.database != ":memory:" and not Path(parsed.database).exists():
        return Check("database", True, f"{shown}: not created yet (created and migrated on "
                     "first use)")
    try:
        store = open_store(full, migrate=False)
    except AnnotateError as exc:
        return Check("database", False, str(exc),
                     "start the database server, or point --db / ANNOTATE_DB at a database "
                     "you can reach")
    try:
        current, head = current_revision(store), head_revision(store)
    finally:
        store.dispose()
    if current == head:
        return Check("database", True, f"{shown}: reachable, migrations at head ({head})")
    return Check("database", True, f"{shown}: reachable, migration {current or 'none'} of "
                 f"{head} (the rest apply on first use, or run `annotate db upgrade`)")


def check_litellm() -> Check:
    from importlib.metadata import PackageNotFoundError, version

    if importlib.util.find_spec("litellm") is None:
        return Check("litellm", False, "not importable", "pip install -e . (or `make install`)")
    try:
        found = version("litellm")
    except PackageNotFoundError:
        found = "unknown version"
    return Check("litellm", True, f"importable, {found}")


def check_model_line(model: str) -> Check:
    from annotate.llm.model_check import check_model

    result = check_model(model)
    return Check("model", result.ok, f"{model}: {result.detail}", result.fix)


def check_label_studio(url: str) -> Check:
    import urllib.error
    import urllib.request

    health = url.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(health, timeout=LS_TIMEOUT_S) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Check("label-studio", False, f"{url}: not reachable ({reason})",
                     "start Label Studio or fix --ls-url / LABEL_STUDIO_URL")
    if status >= 400:
        return Check("label-studio", False, f"{url}: answered HTTP {status} on /health",
                     "check that the URL is Label Studio's base address")
    return Check("label-studio", True, f"{url}: reachable")


def check_threads(configured: int | None) -> Check:
    from annotate.settings import THREADS_ENV

    threads = configured or 1
    source = f"{THREADS_ENV}={configured}" if configured else "default"
    return Check("threads", True, f"embedded model uses {threads} ({source}); "
                 f"{os.cpu_count() or 1} CPU cores (--threads or {THREADS_ENV} to change)")
