"""Start the UI: ``run_ui(db_url, port, host)`` runs ``streamlit run ui/app.py`` with the
database URL in ``ANNOTATE_DB`` (``annotate ui [--db URL] [--port P]`` calls it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).with_name("app.py")
ROOT = APP.parent.parent


def ui_command(port: int = 8501, host: str = "127.0.0.1") -> list[str]:
    """The streamlit command line (headless, no usage statistics, no file watcher)."""
    return [sys.executable, "-m", "streamlit", "run", str(APP),
            "--server.port", str(port), "--server.address", host,
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none", "--global.developmentMode", "false",
            "--client.toolbarMode", "viewer"]


def ui_environment(db_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["ANNOTATE_DB"] = db_url
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def start_ui(db_url: str, port: int = 8501, host: str = "127.0.0.1") -> subprocess.Popen[bytes]:
    """Start the UI server in the background (tests and scripts); the caller stops it."""
    return subprocess.Popen(ui_command(port, host), env=ui_environment(db_url))


def run_ui(db_url: str, port: int = 8501, host: str = "127.0.0.1") -> int:
    """Run the UI in the foreground until interrupted; return streamlit's exit code."""
    from annotate.store.engine import open_store

    open_store(db_url).dispose()  # fail here, with a clear message, if the database is wrong
    process = start_ui(db_url, port, host)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        return process.wait()
