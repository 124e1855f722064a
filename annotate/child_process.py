"""A child process that follows its parent: ``run_child(argv)`` for servers we start (the UI).

The child runs in its own process group. SIGTERM, SIGINT and SIGHUP sent to us are forwarded to
that whole group (so whatever the child starts stops too); we wait for the child and return
its exit status. A child that does not stop within ``grace`` seconds of the signal is killed,
and anything left in its group after it exits is killed as well. If we die without a chance
to forward (SIGKILL), the kernel sends the child SIGTERM (``PR_SET_PDEATHSIG`` on Linux), so
no server is left serving on the port with nobody to stop it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import FrameType

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class ChildExit:
    """How the child ended: ``status`` as a shell reports it (128+N when killed by signal N),
    ``stopped_by`` the signal we forwarded to it, or None when it exited by itself."""

    status: int
    stopped_by: int | None


def exit_status(returncode: int) -> int:
    """``Popen.returncode`` as a shell reports it: -N (killed by signal N) becomes 128+N."""
    return 128 - returncode if returncode < 0 else returncode


def start_child(argv: Sequence[str], env: Mapping[str, str] | None = None
                ) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new process group of its own, set to die with this process."""
    return subprocess.Popen(_dying_with_parent(list(argv)),
                            env=dict(env) if env is not None else None, process_group=0)


def run_child(argv: Sequence[str], env: Mapping[str, str] | None = None, *,
              grace: float = 10.0) -> ChildExit:
    """Run ``argv`` until it exits, forwarding SIGTERM/SIGINT/SIGHUP to its process group."""
    child = start_child(argv, env)
    forwarded: list[tuple[int, float]] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        forwarded.append((signum, time.monotonic()))
        if child.returncode is None:  # never signal a pid the system may have reused
            signal_group(child.pid, signum)

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED}
    try:
        returncode = _wait(child, forwarded, grace)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        signal_group(child.pid, signal.SIGKILL)  # nothing of the group outlives the child
        if child.returncode is None:  # we are leaving on an exception: do not leave a zombie
            child.wait()
    return ChildExit(exit_status(returncode), forwarded[0][0] if forwarded else None)


def signal_group(pgid: int, signum: int) -> None:
    """Send ``signum`` to process group ``pgid``; a group already gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _wait(child: subprocess.Popen[bytes], forwarded: list[tuple[int, float]],
          grace: float) -> int:
    """Wait for the child; kill its group if it outlives ``grace`` after a forwarded signal."""
    while True:
        try:
            return child.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            if forwarded and time.monotonic() - forwarded[0][1] > grace:
                signal_group(child.pid, signal.SIGKILL)


def _dying_with_parent(argv: list[str]) -> list[str]:
    """``argv`` behind a tiny launcher that asks the kernel to send it SIGTERM when we die
    (Linux ``PR_SET_PDEATHSIG``, kept across exec) and then execs it. A launcher rather than a
    ``preexec_fn``, which is unsafe when the parent has threads."""
    if not sys.platform.startswith("linux"):
        return argv
    return [sys.executable, "-c", _LAUNCHER, str(os.getpid()), *argv]


_LAUNCHER = f"""
import ctypes, os, signal, sys
ctypes.CDLL(None, use_errno=True).prctl({PR_SET_PDEATHSIG}, signal.SIGTERM)
if os.getppid() != int(sys.argv[1]):  # the parent died before prctl took effect
    os._exit(1)
os.execvp(sys.argv[2], sys.argv[2:])
"""
