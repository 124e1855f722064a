"""A real Label Studio server for the tests marked ``labelstudio`` (one per test session).

Label Studio lives in its own virtualenv (``.ci/install-label-studio.sh``), at
``$LABEL_STUDIO_VENV`` or ``~/.cache/annotate/label-studio-venv``. Without it the tests skip
locally and fail under CI (``CI`` set), so a CI run never passes by skipping them.

The server starts offline on a free port with SQLite in a temporary data dir, copied from a
migrated template cached beside the venv (built once; delete it to rebuild), and is stopped
by its process group at the end of the session.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from annotate.kinds.schema import LabelSchema
from annotate.store.engine import Store

LS_VENV = Path(os.environ.get("LABEL_STUDIO_VENV")
               or Path.home() / ".cache" / "annotate" / "label-studio-venv")
LS_BIN = LS_VENV / "bin" / "label-studio"
STARTUP_TIMEOUT_S = 120.0  # a copy of the cached data dir: about 10 s
FIRST_START_TIMEOUT_S = 300.0  # a fresh data dir (migrations): 30-100 s, more on a busy machine
EMAIL = "annotator@example.com"
PASSWORD = "annotate-test-password"
TOKEN = "annotate-test-token-0123456789"  # Label Studio wants 6-40 characters


@dataclass(frozen=True)
class LabelStudioInstance:
    url: str
    token: str
    email: str
    pid: int
    log: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def _server_env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("HOST", "PORT", "USERNAME", "PASSWORD")}  # Label Studio reads these too
    env.update({
        "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
        "DJANGO_DB": "sqlite",
        "LABEL_STUDIO_USERNAME": EMAIL,
        "LABEL_STUDIO_PASSWORD": PASSWORD,
        "LABEL_STUDIO_USER_TOKEN": TOKEN,
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        "ML_BLOCK_LOCAL_IP": "false",  # test setting: the ML backend runs on 127.0.0.1
        "SSRF_PROTECTION_ENABLED": "false",
        "SENTRY_DSN": "",
        "LATEST_VERSION_CHECK": "false",
        "LABEL_STUDIO_PORT": str(port),
    })
    return env


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server by its process group (Django's autoreloader has children)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _start(data_dir: Path, log: Path,
           timeout: float = STARTUP_TIMEOUT_S) -> tuple[subprocess.Popen[bytes], str, str]:
    """Start a server on ``data_dir``; wait for /health. Returns (process, url, problem)."""
    port = free_port()
    if not _port_is_free(port):  # Label Studio would silently move to the next port
        port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(LS_BIN), "start", "--no-browser", "--internal-host", "127.0.0.1",
             "--port", str(port)],
            env=_server_env(data_dir, port), stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while not _healthy(url):
        if proc.poll() is not None:
            return proc, url, f"Label Studio exited with {proc.returncode}:\n{_tail(log)}"
        if time.monotonic() > deadline:
            _stop(proc)
            return proc, url, (f"Label Studio did not answer /health within "
                               f"{timeout:.0f} s:\n{_tail(log)}")
        time.sleep(0.5)
    return proc, url, ""


def _template_dir() -> Path:
    """A migrated data dir with the test user, cached: a fresh one takes 30-100 s to create,
    a copy starts in about 10 s."""
    versions = sorted(LS_VENV.glob("lib/python*/site-packages/label_studio-*.dist-info"))
    version = versions[-1].name.removesuffix(".dist-info").split("-")[1] if versions else "?"
    key = hashlib.sha256(f"{version}|{EMAIL}|{TOKEN}".encode()).hexdigest()[:10]
    return LS_VENV.parent / f"label-studio-data-{version}-{key}"


def _build_template(template: Path, log: Path) -> str:
    building = template.with_name(f"{template.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    proc, _, problem = _start(building, log, FIRST_START_TIMEOUT_S)
    _stop(proc)
    if problem:
        shutil.rmtree(building, ignore_errors=True)
        return problem
    try:
        building.rename(template)
    except OSError:  # another run made it first
        shutil.rmtree(building, ignore_errors=True)
    return ""


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabelStudioInstance]:
    if not LS_BIN.exists():
        reason = (f"Label Studio is not installed at {LS_VENV}: "
                  "run `bash .ci/install-label-studio.sh`")
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI must run the labelstudio tests)")
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("label-studio")
    log = base / "server.log"
    template = _template_dir()
    if not template.exists():
        problem = _build_template(template, log)
        if problem:
            pytest.fail(problem)
    shutil.copytree(template, base / "data")
    proc, url, problem = _start(base / "data", log)
    if problem:  # a broken template: drop it so the next run builds a new one
        shutil.rmtree(template, ignore_errors=True)
        pytest.fail(problem)
    try:
        yield LabelStudioInstance(url=url, token=TOKEN, email=EMAIL, pid=proc.pid, log=log)
    finally:
        _stop(proc)


def add_llm_answer(store: Store, item_id: int, value: dict[str, object], *,
                   confidence: float = 0.8, model: str = "fake-llm") -> int:
    """An LLM annotator's answer on an item, as the roles store it."""
    from annotate.projects.catalog import current_guideline
    from annotate.store.models import Annotation, Item, Project

    with store.session() as session:
        item = session.get(Item, item_id)
        assert item is not None
        project = session.get(Project, item.project_id)
        assert project is not None
        annotation = Annotation(
            project_id=item.project_id, item_id=item_id, annotator_id=f"llm:{model}",
            annotator_kind="llm", role="annotator", value=value, confidence=confidence,
            model=model, guideline_version=current_guideline(session, project).version,
            source="queue",
        )
        session.add(annotation)
        session.flush()
        return annotation.id


def make_ls_project(store: Store, name: str, schema: LabelSchema,
                    items: list[tuple[str, str, dict[str, object]]]) -> list[int]:
    """A project with items ``(external_id, text, data)``; returns the item ids."""
    from annotate.projects.catalog import create_project
    from annotate.store.models import Item

    with store.session() as session:
        project = create_project(session, name, schema)
        rows = [Item(project_id=project.id, external_id=ext, text=text, data=data)
                for ext, text, data in items]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]
