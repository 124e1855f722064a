"""A Label Studio ML backend serving a :class:`Predictor` (the LLM roles) over HTTP.

The protocol Label Studio speaks (implemented directly; the old ``label-studio-ml`` package
is stale):

- ``GET /health`` -> ``{"status": "UP"}``, open to anyone (Label Studio checks it); with the
  credentials also ``model_class``, ``project`` and ``model_version``; 401 for wrong ones
- ``POST /setup`` with ``{project, schema, hostname, access_token, extra_params}``
  -> ``{"model_version": ...}`` (400 when the labeling config is not the project's)
- ``POST /predict`` with ``{tasks, project, label_config, params}``
  -> ``{"results": [{result, score, model_version}, ...]}``, one per task, in order; a task
  whose prediction failed gets an entry without ``result``, which Label Studio skips.
- ``POST /webhook`` with ``{action, ...}`` -> ``{"status": "ok"}`` at once (Label Studio
  waits about a second); events are counted.

Everything but ``/health`` needs the HTTP Basic credentials (401 with ``WWW-Authenticate``
otherwise, before the body is read, so no model call and no ledger row). Bodies are bounded
in size and in the time they take to arrive; connections are bounded in number (503 beyond);
a malformed request is a 4xx with one short line, a bug a 500 whose details are only in the
log. Standard library only (``ThreadingHTTPServer``, a thread per connection); the predictor
is loaded once by the caller and shared fairly between requests (:mod:`fair_share`).
"""

from __future__ import annotations

import json
import logging
import secrets
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any

from annotate.errors import InvalidInput
from annotate.integrations.labelstudio.backend_auth import (
    REALM,
    BasicCredentials,
    check_open_access,
)
from annotate.integrations.labelstudio.fair_share import RequestAbandoned
from annotate.integrations.labelstudio.prediction_service import (
    BackendError,
    BackendLimits,
    PredictionService,
)
from annotate.integrations.labelstudio.predictor import Predictor
from annotate.store.engine import Store

__all__ = ["BackendError", "BackendLimits", "BackendServer", "PredictionService",
           "make_backend_server", "serve_backend"]

log = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
OPEN_PATHS = ("/health", "")
LINGER_S = 2.0  # how long a closing connection's unread input is drained
LINGER_BYTES = 64 * 1024 * 1024
_BUSY_BODY = b'{"error": "too many connections; retry"}'
BUSY_ANSWER = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
               b"Retry-After: 1\r\nConnection: close\r\nContent-Length: "
               + str(len(_BUSY_BODY)).encode() + b"\r\n\r\n" + _BUSY_BODY)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: BackendServer

    def setup(self) -> None:
        # each wait on the socket (request line, headers, body, reply) gives up after this
        super().setup()
        self.connection.settimeout(self.server.service.limits.read_timeout_s)

    def do_GET(self) -> None:
        service = self.server.service
        if self._route_path() in OPEN_PATHS and not self._wrong_credentials():
            self._send(200, service.health(details=self._admitted()))
        elif self._refused():
            return
        else:
            self._send(404, {"error": "no such endpoint"})

    def do_POST(self) -> None:
        self.close_connection = True  # until the whole body is read
        if self._refused():
            return
        try:
            route = self._route()
            body = self._body()
            self.close_connection = False
            self._send(200, route(body))
        except BackendError as exc:
            self._send(exc.status, {"error": str(exc)})
        except RequestAbandoned as exc:
            log.info("request %s abandoned: %s", self._route_path(), exc)
            self.close_connection = True
        except Exception:  # a bug must not kill the server: a generic 500, details in the log
            reference = secrets.token_hex(4)
            log.exception("backend request %s failed (ref %s)", self._route_path(), reference)
            self.close_connection = True
            self._send(500, {"error": f"internal error (ref {reference}); the backend's log "
                                      "has the details"})

    def do_PUT(self) -> None:
        self.close_connection = True
        if not self._refused():
            self._send(405, {"error": "method not allowed"}, {"Allow": "GET, POST"})

    do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_PUT

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """The standard library's own refusals (a bad request line, too many headers) as the
        same short JSON, on a closed connection."""
        self.close_connection = True
        status = HTTPStatus(code)
        self._send(code, {"error": (message or status.phrase)[:200]})

    def _route_path(self) -> str:
        return self.path.split("?")[0].rstrip("/")

    def _route(self) -> Callable[[dict[str, Any]], dict[str, Any]]:
        service = self.server.service
        path = self._route_path()
        if path == "/predict":
            return lambda body: service.predict(body, self._client_still_there)
        routes = {"/setup": service.setup, "/webhook": service.webhook}
        if path not in routes:
            raise BackendError(404, "no such endpoint")
        return routes[path]

    def _admitted(self) -> bool:
        credentials = self.server.credentials
        return credentials is None or credentials.admits(self.headers.get("Authorization"))

    def _wrong_credentials(self) -> bool:
        """Credentials sent and wrong (Label Studio then says "authentication parameters ...
        are incorrect" when it checks /health); none sent is no answer yet."""
        return bool((self.headers.get("Authorization") or "").strip()) and not self._admitted()

    def _refused(self) -> bool:
        """Answer 401 (and close: the body stays unread) unless the credentials are right."""
        if self._admitted():
            return False
        self.close_connection = True
        self._send(401, {"error": "authentication required"}, {"WWW-Authenticate": REALM})
        return True

    def _body(self) -> dict[str, Any]:
        raw = self._read_body()
        try:
            body = json.loads(raw or b"{}")
        except (ValueError, RecursionError):
            raise BackendError(400, "the request body is not JSON") from None
        if not isinstance(body, dict):
            raise BackendError(400, "the request body must be a JSON object")
        return body

    def _read_body(self) -> bytes:
        """The body, or a 4xx: no length (chunked), a bad or too large length, or a body that
        does not arrive whole within the read timeout (a slow or lying client)."""
        limits = self.server.service.limits
        if self.headers.get("Transfer-Encoding"):
            raise BackendError(411, "send the body with a Content-Length")
        declared = (self.headers.get("Content-Length") or "0").strip()
        if not declared.isdigit() or len(declared) > 18:
            raise BackendError(400, "Content-Length is not a number")
        length = int(declared)
        if length > limits.max_body_bytes:
            raise BackendError(413, f"request body too large (at most {limits.max_body_bytes} "
                                    "bytes)")
        deadline = time.monotonic() + limits.read_timeout_s
        parts: list[bytes] = []
        missing = length
        while missing:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BackendError(408, "the request body did not arrive in time")
            self.connection.settimeout(left)
            try:
                part = self.rfile.read1(min(missing, 1 << 16))
            except TimeoutError:
                raise BackendError(408, "the request body did not arrive in time") from None
            if not part:
                raise BackendError(400, "the request body is shorter than its Content-Length")
            parts.append(part)
            missing -= len(part)
        self.connection.settimeout(limits.read_timeout_s)
        return b"".join(parts)

    def _client_still_there(self) -> bool:
        """False once the client has closed its side (asked between chunks of a prediction)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return not readable or self.connection.recv(1, socket.MSG_PEEK) != b""
        except OSError:
            return False

    def _send(self, status: int, payload: dict[str, Any],
              headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client went away (or stopped reading): nothing to answer
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


class BackendServer(ThreadingHTTPServer):
    """The HTTP server, holding the one :class:`PredictionService` it serves and the
    credentials it asks for (``None``: open, loopback only)."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], service: PredictionService,
                 credentials: BasicCredentials | None) -> None:
        self.service = service
        self.credentials = credentials
        self._connections = threading.BoundedSemaphore(service.limits.max_connections)
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._connections.acquire(blocking=False):
            with suppress(OSError):
                request.sendall(BUSY_ANSWER)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._connections.release()
            raise

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up or times out is routine: one debug line, not a traceback
        on stderr (the standard library prints one); anything else goes to the log."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            log.debug("client %s went away: %s", client_address, exc)
            return
        log.error("error serving %s", client_address, exc_info=exc)

    def shutdown_request(self, request: Any) -> None:
        """Close gently: stop sending, then read and drop what the client still sends for a
        moment (a refused body), so that it reads our answer instead of a connection reset."""
        with suppress(OSError):
            request.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + LINGER_S
            dropped = 0
            while dropped < LINGER_BYTES and (left := deadline - time.monotonic()) > 0:
                request.settimeout(left)
                chunk = request.recv(1 << 16)
                if not chunk:
                    break
                dropped += len(chunk)
        self.close_request(request)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._connections.release()


def make_backend_server(store: Store, project: str, predictor: Predictor,
                        host: str = "127.0.0.1", port: int = 9090, *,
                        credentials: BasicCredentials | None,
                        limits: BackendLimits | None = None) -> BackendServer:
    """A bound (not yet serving) backend server; call ``serve_forever()`` on it.

    ``credentials=None`` serves without authentication, and only on a loopback address.
    """
    if credentials is None:
        check_open_access(host)
    service = PredictionService(store, project, predictor, limits)
    try:
        return BackendServer((host, port), service, credentials)
    except OSError as exc:
        raise InvalidInput(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def serve_backend(store: Store, project: str, predictor: Predictor, host: str = "127.0.0.1",
                  port: int = 9090, *, credentials: BasicCredentials | None,
                  limits: BackendLimits | None = None,
                  on_ready: Callable[[BackendServer], None] | None = None) -> None:
    """Serve the ML backend until interrupted (Ctrl-C) or stopped (SIGTERM, SIGHUP, as a
    service manager does): then stop listening and return. The backend starts no processes;
    request threads are daemons and end with it."""
    server = make_backend_server(store, project, predictor, host, port,
                                 credentials=credentials, limits=limits)
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
