"""A Label Studio ML backend serving a :class:`Predictor` (the LLM roles) over HTTP.

The protocol Label Studio speaks (implemented directly; the old ``label-studio-ml`` package
is stale):

- ``GET /health`` -> ``{"status": "UP", "model_class": ...}``
- ``POST /setup`` with ``{project, schema, hostname, access_token, extra_params}``
  -> ``{"model_version": ...}`` (400 when the labeling config is not the project's)
- ``POST /predict`` with ``{tasks, project, label_config, params}``
  -> ``{"results": [{result, score, model_version}, ...]}``, one per task, in order; a task
  whose prediction failed gets an entry without ``result``, which Label Studio skips.
- ``POST /webhook`` with ``{action, ...}`` -> ``{"status": "ok"}`` at once (Label Studio
  waits about a second); events are counted.

Standard library only (``ThreadingHTTPServer``); the predictor is loaded once by the caller
and shared, guarded by a lock.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any

from annotate.errors import InvalidInput
from annotate.labelstudio.config import describe_difference, labeling_config
from annotate.labelstudio.convert import LabelStudioCheck, to_result
from annotate.labelstudio.predictor import (
    ItemToPredict,
    PredictedValue,
    PredictionFailure,
    Predictor,
)
from annotate.projects import get_project, project_schema
from annotate.store.engine import Store
from annotate.store.models import Item

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 50 * 1024 * 1024
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class BackendError(Exception):
    """A request the backend refuses: answered with its status and one line."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class PredictionService:
    """What the endpoints do, without HTTP: easy to test and to reuse."""

    def __init__(self, store: Store, project: str, predictor: Predictor) -> None:
        with store.session() as session:
            proj = get_project(session, project)
            self.project_id = proj.id
            self.project_name = proj.name
            self.schema = project_schema(proj)
        self.store = store
        self.predictor = predictor
        self.config = labeling_config(self.schema)
        self.check = LabelStudioCheck(self.config)
        self.events: Counter[str] = Counter()
        self.failures: list[PredictionFailure] = []
        self._lock = threading.Lock()

    @property
    def model_version(self) -> str:
        return self.predictor.model_version

    def health(self) -> dict[str, Any]:
        return {"status": "UP", "model_class": type(self.predictor).__name__,
                "project": self.project_name, "model_version": self.model_version}

    def setup(self, body: dict[str, Any]) -> dict[str, Any]:
        self._check_config(body.get("schema"))
        return {"model_version": self.model_version}

    def predict(self, body: dict[str, Any]) -> dict[str, Any]:
        self._check_config(body.get("label_config"))
        tasks = body.get("tasks") or []
        if not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
            raise BackendError(400, "tasks must be a list of task objects")
        items = [self._item_for(task) for task in tasks]
        with self._lock:
            outputs = list(self.predictor.predict(self.schema, items)) if items else []
        if len(outputs) != len(items):
            raise BackendError(500, f"the predictor answered {len(outputs)} values "
                                    f"for {len(items)} tasks")
        return {"results": [self._entry(item, out) for item, out in zip(items, outputs,
                                                                           strict=True)]}

    def webhook(self, body: dict[str, Any]) -> dict[str, Any]:
        self.events[str(body.get("action") or "unknown")] += 1
        return {"status": "ok"}

    def _check_config(self, label_config: Any) -> None:
        if not label_config:
            return
        difference = describe_difference(self.config, str(label_config))
        if difference:
            raise BackendError(400, f"this backend serves project {self.project_name!r} and the "
                                    f"labeling config differs ({difference})")

    def _item_for(self, task: dict[str, Any]) -> ItemToPredict:
        data = task.get("data") or {}
        item_id = data.get("annotate_item_id")
        if isinstance(item_id, int):
            with self.store.session() as session:
                item = session.get(Item, item_id)
                if item is not None and item.project_id == self.project_id:
                    return ItemToPredict(text=item.text, item_id=item.id,
                                         external_id=item.external_id, data=dict(item.data))
        return ItemToPredict(text=str(data.get("text", "")), data=dict(data))

    def _entry(self, item: ItemToPredict,
               out: PredictedValue | PredictionFailure) -> dict[str, Any]:
        entry: dict[str, Any] = {"model_version": self.model_version}
        if isinstance(out, PredictedValue):
            try:
                entry["result"] = self.check.check(to_result(self.schema, out.value, item.text))
                entry["score"] = out.confidence
                return entry
            except InvalidInput as exc:
                out = PredictionFailure("invalid", str(exc), json.dumps(out.value))
        self.failures.append(out)
        log.warning("no prediction for item %s: %s: %s", item.item_id, out.kind, out.message)
        entry["error"] = f"{out.kind}: {out.message}"
        return entry


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: BackendServer

    def do_GET(self) -> None:
        if self.path.split("?")[0].rstrip("/") in ("/health", ""):
            self._send(200, self.server.service.health())
        else:
            self._send(404, {"error": f"no such endpoint: GET {self.path}"})

    def do_POST(self) -> None:
        service = self.server.service
        routes = {"/setup": service.setup, "/predict": service.predict,
                  "/webhook": service.webhook}
        route = routes.get(self.path.split("?")[0].rstrip("/"))
        try:
            body = self._body()
            if route is None:
                raise BackendError(404, f"no such endpoint: POST {self.path}")
            self._send(200, route(body))
        except BackendError as exc:
            self._send(exc.status, {"error": str(exc)})
        except Exception as exc:  # a bug must not kill the server: answer 500, log it
            log.exception("backend request %s failed", self.path)
            self._send(500, {"error": f"{type(exc).__name__}: {exc}"})

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise BackendError(413, "request body too large")
        raw = self.rfile.read(length) if length else b"{}"
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise BackendError(400, "the request body is not JSON") from None
        if not isinstance(body, dict):
            raise BackendError(400, "the request body must be a JSON object")
        return body

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


class BackendServer(ThreadingHTTPServer):
    """The HTTP server, holding the one :class:`PredictionService` it serves."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], service: PredictionService) -> None:
        super().__init__(address, _Handler)
        self.service = service

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


def make_backend_server(store: Store, project: str, predictor: Predictor,
                        host: str = "127.0.0.1", port: int = 9090) -> BackendServer:
    """A bound (not yet serving) backend server; call ``serve_forever()`` on it."""
    service = PredictionService(store, project, predictor)
    try:
        return BackendServer((host, port), service)
    except OSError as exc:
        raise InvalidInput(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def serve_backend(store: Store, project: str, predictor: Predictor, host: str = "127.0.0.1",
                  port: int = 9090, *,
                  on_ready: Callable[[BackendServer], None] | None = None) -> None:
    """Serve the ML backend until interrupted (Ctrl-C) or stopped (SIGTERM, SIGHUP, as a
    service manager does): then stop listening and return. The backend starts no processes;
    request threads are daemons and end with it."""
    server = make_backend_server(store, project, predictor, host, port)
    if on_ready is not None:
        on_ready(server)
    try:
        with _stopped_by_signals():
            server.serve_forever()
    except _Stop:
        pass
    finally:
        server.server_close()


class _Stop(BaseException):
    """Raised in the main thread by SIGTERM/SIGINT/SIGHUP to leave ``serve_forever``."""


@contextmanager
def _stopped_by_signals() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():  # handlers: main thread only
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        raise _Stop

    previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

