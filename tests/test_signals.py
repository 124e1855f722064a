"""Servers stop with their parent: `annotate ui` and `annotate ls backend` run as real
processes on a free port; SIGTERM (as a service manager sends it) stops them within seconds,
frees the port and leaves no process behind (checked in /proc)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.acceptance.shell import port_is_free
from tests.dbs import SqliteTemplate

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(),
                                reason="reads the process table in /proc")
ANNOTATE = [sys.executable, "-m", "annotate.cli.main"]
ROOT = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 60.0
STOP_SECONDS = 8.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers_http(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _stat(pid: int) -> tuple[int, int, str] | None:
    """(parent pid, process group, state) from /proc/PID/stat, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), int(fields[2]), fields[0]


def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def descendants(pid: int) -> set[int]:
    parents = {p: s[0] for p in _all_pids() if (s := _stat(p)) is not None}
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pids: set[int]) -> set[int]:
    """The pids that still exist and are not zombies."""
    return {p for p in pids if (s := _stat(p)) is not None and s[2] != "Z"}


def in_group(pgid: int) -> set[int]:
    return {p for p in _all_pids() if (s := _stat(p)) is not None and s[1] == pgid
            and s[2] != "Z"}


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    children: set[int] = field(default_factory=set)

    def wait_until_serving(self) -> None:
        """Wait for the port to answer HTTP; remember the processes serving it."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"exited {self.process.returncode} before serving:\n{self.output()}")
            if answers_http(self.port):
                self.children = descendants(self.process.pid)
                return
            time.sleep(0.2)
        pytest.fail(f"port {self.port} did not answer in {STARTUP_SECONDS:.0f} s:\n"
                    f"{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop_within(self, seconds: float) -> int:
        try:
            return self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {seconds:.0f} s after the signal:\n{self.output()}")


def _start(args: list[str], tmp_path: Path, env: dict[str, str]) -> Iterator[Server]:
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen([*ANNOTATE, *args, "--port", str(port)], cwd=ROOT,
                                   env=env, stdout=sink, stderr=subprocess.STDOUT)
    server = Server(process, port, log)
    try:
        yield server
    finally:  # a failed test must not leave its servers running: stop what is left, by pid
        left = descendants(process.pid) if process.poll() is None else set()
        for pid in alive({process.pid, *left, *server.children}):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture
def env(tmp_path: Path, sqlite_template: SqliteTemplate) -> dict[str, str]:
    environment = dict(os.environ)
    environment.update(ANNOTATE_DB=sqlite_template.clone(tmp_path), ANNOTATE_MODEL="dry-run",
                       PYTHONUNBUFFERED="1")
    return environment


@pytest.fixture
def ui_server(tmp_path: Path, env: dict[str, str]) -> Iterator[Server]:
    yield from _start(["ui"], tmp_path, env)


@pytest.fixture
def backend_server(tmp_path: Path, env: dict[str, str]) -> Iterator[Server]:
    subprocess.run([*ANNOTATE, "project", "create", "reviews", "--kind", "classification",
                    "--labels", "pos,neg"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    yield from _start(["ls", "backend", "reviews"], tmp_path, env)


def test_sigterm_stops_the_ui_and_its_streamlit_child(ui_server: Server) -> None:
    ui_server.wait_until_serving()
    children = ui_server.children
    assert children, "annotate ui serves through a streamlit child process"
    groups = {s[1] for p in children if (s := _stat(p)) is not None}
    started = time.monotonic()
    ui_server.process.send_signal(signal.SIGTERM)
    status = ui_server.stop_within(STOP_SECONDS)
    assert status == 0, ui_server.output()
    assert time.monotonic() - started < STOP_SECONDS
    assert port_is_free(ui_server.port)
    assert not alive(children)
    assert not set().union(*(in_group(g) for g in groups))
    assert "Traceback" not in ui_server.output()


def test_sigint_stops_the_ui_like_ctrl_c(ui_server: Server) -> None:
    ui_server.wait_until_serving()
    children = ui_server.children
    ui_server.process.send_signal(signal.SIGINT)
    ui_server.stop_within(STOP_SECONDS)
    assert port_is_free(ui_server.port)
    assert not alive(children)


def test_a_streamlit_child_that_dies_takes_the_ui_down_with_an_error(ui_server: Server) -> None:
    ui_server.wait_until_serving()
    (child,) = ui_server.children
    os.kill(child, signal.SIGKILL)
    status = ui_server.stop_within(STOP_SECONDS)
    assert status != 0
    assert "stopped by itself" in ui_server.output()
    assert port_is_free(ui_server.port)


def test_the_streamlit_child_dies_with_a_killed_parent(ui_server: Server) -> None:
    ui_server.wait_until_serving()
    children = ui_server.children
    ui_server.process.kill()  # no chance to forward anything: the kernel tells the child
    ui_server.process.wait(timeout=5)
    deadline = time.monotonic() + STOP_SECONDS
    while alive(children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(children)
    assert port_is_free(ui_server.port)


def test_ui_on_a_busy_port_is_one_line_and_exit_2(tmp_path: Path, env: dict[str, str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result = subprocess.run([*ANNOTATE, "ui", "--port", str(port)], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and f":{port}" in result.stderr


def test_sigterm_stops_the_label_studio_backend(backend_server: Server) -> None:
    backend_server.wait_until_serving()
    children = backend_server.children
    started = time.monotonic()
    backend_server.process.send_signal(signal.SIGTERM)
    status = backend_server.stop_within(STOP_SECONDS)
    assert status == 0, backend_server.output()
    assert time.monotonic() - started < STOP_SECONDS
    assert port_is_free(backend_server.port)
    assert not alive(children)
    assert "stopped" in backend_server.output()
    assert "Traceback" not in backend_server.output()
