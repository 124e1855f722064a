"""The CLI starts without its heavy dependencies (issue #17 item 5): building `annotate --help`
imports no data-science, model or UI library, and no database layer; `status --json` needs
the database but none of the rest, and on a SQLite database at head the console script
answers it without Typer, SQLAlchemy or pydantic (annotate/cli/status_json.py). The help of a
command reads neither the settings nor a registry, nor imports pydantic. Timings are in
benchmarks/cli_start.py, never asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("pandas", "numpy", "litellm", "streamlit", "torch", "sklearn")

# Runs in a fresh interpreter: the test process has imported everything already.
PROBE = """
import contextlib, io, json, sys
import annotate.cli.main
args = json.loads(sys.argv[1])
help_text = io.StringIO()
with contextlib.redirect_stdout(help_text):
    try:
        annotate.cli.main.app(args=args, prog_name="annotate", standalone_mode=False)
    except SystemExit:
        pass
print(json.dumps({"output": help_text.getvalue(), "modules": sorted(sys.modules)}))
"""


def loaded_after(args: list[str]) -> tuple[str, set[str]]:
    """The output of ``annotate ARGS`` through the Typer app in a fresh interpreter, and the
    top-level packages imported by then."""
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], check=True,
                          capture_output=True, text=True, timeout=120)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["output"], {name.split(".")[0] for name in result["modules"]}


def test_help_imports_no_heavy_library() -> None:
    output, loaded = loaded_after(["--help"])
    assert "Usage: annotate" in output and "status" in output and "import" in output
    assert not loaded & set(HEAVY), f"annotate --help imported {sorted(loaded & set(HEAVY))}"


def test_help_needs_neither_the_database_nor_the_settings_model() -> None:
    _, loaded = loaded_after(["--help"])
    assert not loaded & {"sqlalchemy", "alembic", "pydantic_settings"}


@pytest.mark.parametrize("command", [["project", "create", "--help"], ["run", "--help"],
                                     ["import", "--help"]])
def test_help_that_lists_registered_names_still_lists_them(command: list[str]) -> None:
    """Kinds, roles and formats are read when their help is shown, not at import."""
    output, loaded = loaded_after(command)
    expected = {"project": "classification", "run": "annotator", "import": "jsonl"}[command[0]]
    assert expected in output
    assert not loaded & set(HEAVY)


def test_status_json_imports_no_heavy_library(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/start.db"
    subprocess.run([sys.executable, "-m", "annotate.cli.main", "--db", db, "project", "create",
                    "p", "--kind", "classification", "--labels", "a,b"], check=True,
                   capture_output=True, timeout=120)
    output, loaded = loaded_after(["--db", db, "status", "p", "--json"])
    assert json.loads(output)["name"] == "p"
    assert not loaded & set(HEAVY), f"status imported {sorted(loaded & set(HEAVY))}"
    assert "alembic" not in loaded  # a database at head is opened without it


# The console script's entry point itself, as `annotate ARGS` runs it.
MAIN_PROBE = """
import json, sys
from annotate.cli.main import main
code = main(json.loads(sys.argv[1]))
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def test_status_json_on_sqlite_needs_no_typer_sqlalchemy_or_pydantic(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/quick.db"
    subprocess.run([sys.executable, "-m", "annotate.cli.main", "--db", db, "project", "create",
                    "p", "--kind", "classification", "--labels", "a,b"], check=True,
                   capture_output=True, timeout=120)
    done = subprocess.run([sys.executable, "-c", MAIN_PROBE,
                           json.dumps(["--db", db, "status", "p", "--json"])], check=True,
                          capture_output=True, text=True, timeout=120)
    *printed, last = done.stdout.strip().splitlines()
    result = json.loads(last)
    assert result["code"] == 0 and json.loads("\n".join(printed))["name"] == "p"
    loaded = {name.split(".")[0] for name in result["modules"]}
    slow = {"typer", "click", "rich", "sqlalchemy", "pydantic", "pydantic_settings", "alembic"}
    assert not loaded & (slow | set(HEAVY)), sorted(loaded & (slow | set(HEAVY)))


@pytest.mark.parametrize("command", [["status", "--help"], ["run", "--help"],
                                     ["import", "--help"], ["export", "--help"],
                                     ["project", "create", "--help"], ["project", "--help"],
                                     ["people", "add", "--help"], ["bench", "replay", "--help"]])
def test_command_help_needs_no_settings_pydantic_or_registry(command: list[str]) -> None:
    """`annotate CMD --help` neither reads the settings nor asks the registries: pydantic
    (which Typer imports to check option values), the roles and the queue stay unimported."""
    output, loaded = loaded_after(["--db", "sqlite:///never.db", *command])
    assert "Usage: annotate" in output and "--help" in output
    heavy = {"pydantic", "pydantic_settings", "sqlalchemy", "alembic", *HEAVY}
    assert not loaded & heavy, f"{command} imported {sorted(loaded & heavy)}"
    assert "roles" not in loaded


def test_listed_names_are_the_registries_names() -> None:
    """The names help lists without importing a registry are the registry's own."""
    from annotate.cli import names
    from annotate.io.exporting import exporter_names
    from annotate.io.importing.formats import reader_names
    from annotate.kinds.registry import kind_names
    from roles.registry import role_names

    assert names.kind_names() == kind_names()
    assert names.role_names() == role_names()
    assert names.reader_names() == reader_names()
    assert names.exporter_names() == exporter_names()


def test_without_env_file_the_settings_add_no_option_default() -> None:
    """Without a `.env` file the root skips the settings' default_map: sound only while every
    option named by a settings variable has the setting's own default (click reads the
    variable itself)."""
    from typer.main import get_command

    from annotate.cli.app import app
    from annotate.cli.common import SETTING_OF_ENVVAR
    from annotate.settings import Settings

    def leaves(command: object) -> list[object]:
        below = getattr(command, "commands", None)
        return [c for sub in below.values() for c in leaves(sub)] if below else [command]

    checked = 0
    for command in leaves(get_command(app)):
        for param in getattr(command, "params", []):
            names = [param.envvar] if isinstance(param.envvar, str) else list(param.envvar or ())
            for name in (n for n in names if n in SETTING_OF_ENVVAR):
                field = Settings.model_fields[SETTING_OF_ENVVAR[name]]
                assert field.default is None or param.default == field.default, param.name
                checked += 1
    assert checked >= 5


def test_env_file_still_reaches_option_defaults_and_help_survives_a_bad_setting(
        tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ANNOTATE_MODEL=dry-run\n", encoding="utf-8")
    script = [sys.executable, "-m", "annotate.cli.main"]
    shown = subprocess.run([*script, "run", "--help"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=120, check=True).stdout
    assert "default: dry-run" in " ".join(shown.split())
    bad = {**os.environ, "ANNOTATE_RESERVATION_TTL_S": "-1"}
    (tmp_path / ".env").unlink()
    helped = subprocess.run([*script, "project", "list", "--help"], cwd=tmp_path, env=bad,
                            capture_output=True, text=True, timeout=120, check=False)
    assert helped.returncode == 0 and "project list [OPTIONS]" in helped.stdout
    ran = subprocess.run([*script, "--db", f"sqlite:///{tmp_path}/x.db", "project", "list"],
                         cwd=tmp_path, env=bad, capture_output=True, text=True, timeout=120,
                         check=False)
    assert ran.returncode == 2 and "ANNOTATE_RESERVATION_TTL_S" in ran.stderr
