"""`annotate ls backend` as a real process: a generated password printed once, a given one
never printed, refusals of unsafe or contradictory options as one line and exit 2."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.dbs import SqliteTemplate
from tests.labelstudio.backend_http import basic
from tests.labelstudio.conftest import free_port

ANNOTATE = [sys.executable, "-m", "annotate.cli.main"]
ROOT = Path(__file__).resolve().parents[2]
GIVEN_PASSWORD = "given-password-from-the-env-123"


@dataclass
class Backend:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float = 60.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.output())
            if found:
                return found
            assert self.process.poll() is None, self.output()
            time.sleep(0.1)
        raise AssertionError(f"no {pattern!r} in:\n{self.output()}")

    def call(self, path: str, auth: str | None = None, body: bytes | None = None) -> int:
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = auth
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=body,
                                     headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    def stop(self) -> str:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        return self.output()


@pytest.fixture
def env(tmp_path: Path, sqlite_template: SqliteTemplate) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ANNOTATE_BACKEND")}
    environment.update(ANNOTATE_DB=sqlite_template.clone(tmp_path), ANNOTATE_MODEL="dry-run",
                       PYTHONUNBUFFERED="1")
    subprocess.run([*ANNOTATE, "project", "create", "reviews", "--kind", "classification",
                    "--labels", "pos,neg"], cwd=ROOT, env=environment, check=True,
                   capture_output=True)
    return environment


@pytest.fixture
def start(tmp_path: Path, env: dict[str, str]) -> Iterator[Callable[..., Backend]]:
    started: list[Backend] = []

    def run(*args: str, extra_env: dict[str, str] | None = None) -> Backend:
        port = free_port()
        log = tmp_path / f"backend-{len(started)}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [*ANNOTATE, "ls", "backend", "reviews", "--port", str(port), *args],
                cwd=ROOT, env={**env, **(extra_env or {})}, stdout=sink,
                stderr=subprocess.STDOUT, start_new_session=True)
        started.append(Backend(process, port, log))
        return started[-1]

    yield run
    for backend in started:  # a failed test leaves nothing running: stop ours, by group
        if backend.process.poll() is None:
            os.killpg(backend.process.pid, signal.SIGKILL)
            backend.process.wait(timeout=10)


PREDICT = b'{"tasks": [{"data": {"text": "a good film"}}]}'


def test_a_generated_password_is_printed_once_and_required(start: Callable[..., Backend]) -> None:
    backend = start()
    found = backend.wait_for(r"user annotate, password (\S+) \(generated, shown once")
    password = found.group(1)
    assert len(password) >= 32
    assert backend.call("/health") == 200
    assert backend.call("/predict", body=PREDICT) == 401
    assert backend.call("/predict", basic("annotate", "x" * 32), PREDICT) == 401
    assert backend.call("/predict", basic("annotate", password), PREDICT) == 200
    output = backend.stop()
    assert output.count(password) == 1, output
    assert "stopped" in output and "Traceback" not in output


def test_a_password_from_the_environment_is_never_printed(start: Callable[..., Backend]) -> None:
    backend = start("--auth-user", "ls",
                    extra_env={"ANNOTATE_BACKEND_PASSWORD": GIVEN_PASSWORD})
    backend.wait_for(r"user ls, password as given")
    assert backend.call("/predict", basic("annotate", GIVEN_PASSWORD), PREDICT) == 401
    assert backend.call("/predict", basic("ls", GIVEN_PASSWORD), PREDICT) == 200
    assert GIVEN_PASSWORD not in backend.stop()


def test_no_auth_serves_loopback_without_credentials(start: Callable[..., Backend]) -> None:
    backend = start("--no-auth")
    backend.wait_for(r"no authentication \(--no-auth\)")
    assert backend.call("/predict", body=PREDICT) == 200
    backend.stop()


@pytest.mark.parametrize("args, extra_env, says", [
    (["--no-auth", "--host", "0.0.0.0"], {}, "--no-auth serves only a loopback address"),
    (["--auth-pass", "short"], {}, "at least 16 printable characters"),
    (["--no-auth"], {"ANNOTATE_BACKEND_PASSWORD": GIVEN_PASSWORD}, "contradict each other"),
    (["--auth-user", "a:b"], {}, "without ':'"),
    (["--max-tasks", "0"], {}, "--max-tasks"),
])
def test_unsafe_or_contradictory_options_are_one_line_and_exit_2(
        start: Callable[..., Backend], args: list[str], extra_env: dict[str, str],
        says: str) -> None:
    backend = start(*args, extra_env=extra_env)
    assert backend.process.wait(timeout=60) == 2
    output = backend.output()
    assert says in output and "Traceback" not in output, output
