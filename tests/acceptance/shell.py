"""Running documented commands as a reader would: each in ``bash -c`` in one working
directory, the environment a command exports kept for the next (a story typed into one
terminal), and servers started, probed over HTTP and stopped by process group."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

TAIL_LINES = 25
# Variables bash sets for itself; not part of what a command exported.
_BASH_OWN = {"_", "PWD", "OLDPWD", "SHLVL"}


@dataclass(frozen=True)
class Outcome:
    command: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def report(self, problem: str) -> str:
        return (f"{problem}\n$ {self.command}\nexit code {self.returncode} after "
                f"{self.seconds:.1f} s\n--- stdout (tail) ---\n{tail(self.stdout)}\n"
                f"--- stderr (tail) ---\n{tail(self.stderr)}")


def tail(text: str, lines: int = TAIL_LINES) -> str:
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"


def _parse_env(raw: bytes) -> dict[str, str]:
    pairs = (entry.decode(errors="surrogateescape").split("=", 1)
             for entry in raw.split(b"\0") if b"=" in entry)
    return {k: v for k, v in pairs if k not in _BASH_OWN}


@dataclass
class Shell:
    """One terminal: a working directory and an environment, commands run in order."""

    cwd: Path
    env: dict[str, str]
    timeout: float = 600.0
    history: list[Outcome] = field(default_factory=list)

    def run(self, command: str, timeout: float | None = None) -> Outcome:
        env_file = self.cwd / ".acceptance-env"
        script = (f"{command}\n__acceptance_rc=$?\nenv -0 > {shlex.quote(str(env_file))}\n"
                  "exit $__acceptance_rc\n")
        started = time.monotonic()
        try:
            done = subprocess.run(["bash", "-c", script], cwd=self.cwd, env=self.env,
                                  capture_output=True, text=True, errors="replace",
                                  timeout=timeout or self.timeout, stdin=subprocess.DEVNULL,
                                  check=False)
            outcome = Outcome(command, done.returncode, done.stdout, done.stderr,
                              time.monotonic() - started)
        except subprocess.TimeoutExpired as exc:
            outcome = Outcome(command, -1, _text(exc.stdout),
                              _text(exc.stderr) + f"\n(timed out after {exc.timeout:.0f} s)",
                              time.monotonic() - started)
        if env_file.exists():
            self.env = _parse_env(env_file.read_bytes())
            env_file.unlink()
        self.history.append(outcome)
        return outcome


def _text(data: bytes | str | None) -> str:
    if isinstance(data, bytes):
        return data.decode(errors="replace")
    return data or ""


def check_ran(outcome: Outcome) -> None:
    """Exit code 0 and no traceback: what every documented command must do."""
    if outcome.returncode != 0:
        raise AssertionError(outcome.report("the documented command failed"))
    if "Traceback (most recent call last)" in outcome.stderr + outcome.stdout:
        raise AssertionError(outcome.report("the documented command printed a traceback"))


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes] | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return int(answer.status), answer.read()
    except OSError:
        return None


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def serve(shell: Shell, command: str, probe_url: str, startup_s: float = 120.0,
          stop_s: float = 20.0) -> tuple[Outcome, int, bytes]:
    """Start a documented server command as written, wait until ``probe_url`` answers, stop
    it with SIGTERM to its process group and wait for the whole group to exit. Returns the
    outcome, and the status and body of the first answer."""
    logs = shell.cwd / ".acceptance-server"
    logs.mkdir(exist_ok=True)
    out_path, err_path = logs / "stdout", logs / "stderr"
    started = time.monotonic()
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(["bash", "-c", command], cwd=shell.cwd, env=shell.env,
                                stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    answer = None
    problem = ""
    try:
        while answer is None:
            answer = http_get(probe_url)
            if answer is not None:
                break
            if proc.poll() is not None:
                problem = f"the server exited before {probe_url} answered"
                break
            if time.monotonic() - started > startup_s:
                problem = f"{probe_url} did not answer within {startup_s:.0f} s"
                break
            time.sleep(0.5)
    finally:
        stopped = _stop(proc, stop_s)
        problem = problem or stopped
    outcome = Outcome(command, proc.returncode if proc.returncode is not None else -1,
                      out_path.read_text(errors="replace"),
                      err_path.read_text(errors="replace"), time.monotonic() - started)
    shell.history.append(outcome)
    if problem or answer is None:
        raise AssertionError(outcome.report(problem or "no answer"))
    return outcome, answer[0], answer[1]


def _stop(proc: subprocess.Popen[bytes], stop_s: float) -> str:
    """SIGTERM to the group; '' when every process of it exited in time, else why not (and
    the group is then killed so nothing outlives the test)."""
    if proc.poll() is None or _group_alive(proc.pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + stop_s
    try:
        proc.wait(timeout=stop_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        return f"the server did not exit within {stop_s:.0f} s of SIGTERM"
    while _group_alive(proc.pid):
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            return f"a process of the server's group outlived SIGTERM by {stop_s:.0f} s"
        time.sleep(0.2)
    return ""
