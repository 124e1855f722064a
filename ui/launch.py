"""Start the UI: ``run_ui(db_url, port, host)`` runs ``streamlit run ui/app.py`` with the
database URL in ``ANNOTATE_DB`` (``annotate ui [--db URL] [--port P]`` calls it), as a child
that follows its parent (``annotate.child_process``): stopping us stops the server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from annotate.store.engine import Store

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
    """Start the UI server in the background (tests and scripts); the caller stops it. It runs
    in its own process group and dies with the caller."""
    from annotate.child_process import start_child

    return start_child(ui_command(port, host), ui_environment(db_url))


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (for tests and benchmarks that start servers)."""
    import socket

    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, seconds: float = 60) -> None:
    """Wait until the Streamlit server at ``url`` answers its health check; TimeoutError
    after ``seconds``."""
    import time
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"the UI did not answer on {url} within {seconds:g} s")


@contextmanager
def serving(db_url: str, port: int | None = None, host: str = "127.0.0.1",
            seconds: float = 60) -> Iterator[str]:
    """Start the UI on ``port`` (a free one by default), wait until it answers, yield its
    URL, and stop it (its whole process group) on the way out."""
    import signal

    from annotate.child_process import signal_group

    port = port or free_port(host)
    process = start_ui(db_url, port, host)
    try:
        url = f"http://{host}:{port}"
        wait_healthy(url, seconds)
        yield url
    finally:
        signal_group(process.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
        signal_group(process.pid, signal.SIGKILL)  # nothing of the group outlives the server
        process.wait()


def run_ui(db_url: str, port: int = 8501, host: str = "127.0.0.1") -> int:
    """Run the UI in the foreground until stopped; return streamlit's exit status.

    SIGTERM, SIGINT (Ctrl-C) and SIGHUP are forwarded to the server's process group and we
    exit when it does, with its status; a server that stops by itself is an error (exit
    status non-zero, one line on stderr)."""
    from annotate.child_process import run_child
    from annotate.store.engine import open_store

    store = open_store(db_url)  # fail here, with a clear message, if the database is wrong
    try:
        announce_setup_token(store)
    finally:
        store.dispose()
    check_port_free(host, port)
    ended = run_child(ui_command(port, host), ui_environment(db_url))
    if ended.stopped_by is not None:
        return ended.status
    print(f"error: the UI server (streamlit) stopped by itself with exit status {ended.status}",
          file=sys.stderr)
    return ended.status or 1


def announce_setup_token(store: Store) -> str | None:
    """While nobody is owner: print a new one-time setup token (the sign-in page asks for
    it before it creates the first owner); return it."""
    from annotate.services.sessions import SETUP_HOURS, issue_setup_token

    with store.session() as session:
        token = issue_setup_token(session)
    if token is not None:
        print(f"No owner yet. One-time setup token (valid {SETUP_HOURS} hours; the sign-in page "
              f"asks for it to create the first owner):\n{token}", flush=True)
    return token


def check_port_free(host: str, port: int) -> None:
    """Refuse, in one line, a port another server holds (streamlit would print a page of it)."""
    import socket

    from annotate.errors import InvalidInput

    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        raise InvalidInput(f"cannot listen on {host}:{port}: {exc.strerror}; stop what serves "
                           "there or choose another --port") from None
