"""Talking to a backend server over real HTTP in the tests: requests with or without
credentials, and raw sockets for what a polite client never sends."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from annotate.integrations.labelstudio.backend import BackendServer


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    raw: bytes


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def request(server: BackendServer, method: str, path: str, body: Any = None, *,
            auth: str | None = None, timeout: float = 30.0,
            headers: dict[str, str] | None = None) -> Answer:
    """One request on a fresh connection; ``body`` is JSON-encoded unless it is bytes."""
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(str(host), int(port), timeout=timeout)
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    sent = {"Content-Type": "application/json", **(headers or {})}
    if auth is not None:
        sent["Authorization"] = auth
    try:
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        raw = response.read()
        return Answer(response.status, json.loads(raw) if raw else {},
                      {k.lower(): v for k, v in response.getheaders()}, raw)
    finally:
        connection.close()


@contextmanager
def raw_connection(server: BackendServer, timeout: float = 30.0) -> Iterator[socket.socket]:
    host, port = server.server_address[:2]
    sock = socket.create_connection((str(host), int(port)), timeout=timeout)
    try:
        yield sock
    finally:
        sock.close()


def read_answer(sock: socket.socket) -> tuple[int, bytes]:
    """The status and everything the server sends until it closes the connection."""
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    raw = b"".join(chunks)
    status = int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/") else 0
    return status, raw


def head(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: backend"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@contextmanager
def serving(server: BackendServer) -> Iterator[BackendServer]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
