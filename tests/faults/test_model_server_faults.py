"""A fake OpenAI-compatible model server on 127.0.0.1 that misbehaves: 429, 500, a timeout,
a truncated answer, a non-JSON body. The run completes through litellm's real HTTP path,
no invalid output is stored as a label, and every failure is on the ledger."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from annotate.llm.gateway import Gateway, GatewaySettings
from annotate.store.engine import Store
from annotate.store.models import Annotation, LLMCall, Task
from roles.runner import run_project

GOOD = json.dumps({"label": "pos", "reason": "fine", "confidence": 80})
# What the server answers, call after call; then GOOD forever.
SCRIPT = ["429", "500", "timeout", "truncated", "not-json-body", "bad-label", "html"]


class _Handler(BaseHTTPRequestHandler):
    script: list[str]
    lock = threading.Lock()
    seen: list[dict[str, Any]]

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.lock:
            self.seen.append(body)
            step = self.script.pop(0) if self.script else "ok"
        if step == "timeout":
            time.sleep(2.5)
            step = "ok"
        if step in ("429", "500"):
            self._send(int(step), {"error": {"message": f"scripted {step}", "type": "x"}})
            return
        if step == "not-json-body":
            self._raw(200, b"this is not json at all")
            return
        if step == "html":
            self._raw(502, b"<html>bad gateway</html>", "text/html")
            return
        content = {"truncated": '{"label": "po', "bad-label": json.dumps(
            {"label": "meh", "reason": "x", "confidence": 10})}.get(step, GOOD)
        finish = "length" if step == "truncated" else "stop"
        self._send(200, {"id": "x", "object": "chat.completion", "created": 0,
                         "model": body["model"],
                         "choices": [{"index": 0, "finish_reason": finish,
                                      "message": {"role": "assistant", "content": content}}],
                         "usage": {"prompt_tokens": 20, "completion_tokens": 8,
                                   "total_tokens": 28}})

    def _send(self, code: int, payload: dict[str, Any]) -> None:
        self._raw(code, json.dumps(payload).encode(), "application/json")

    def _raw(self, code: int, data: bytes, ctype: str = "application/json") -> None:
        try:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the scripted timeout): that is the point


@pytest.fixture
def model_server() -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {"script": list(SCRIPT), "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", handler
    server.shutdown()
    server.server_close()


def test_run_completes_through_a_misbehaving_server(
        sqlite_store: Store, make_items: Callable[..., int],
        model_server: tuple[str, type[_Handler]], monkeypatch: pytest.MonkeyPatch) -> None:
    url, handler = model_server
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    monkeypatch.setenv("OPENAI_API_BASE", url)
    pid = make_items(["great", "fine", "good"])
    gateway = Gateway(sqlite_store, pid, GatewaySettings(
        model="openai/fake-model", timeout_s=1.0, retries=3, backoff_base_s=0.01,
        backoff_max_s=0.05))
    stats = run_project(sqlite_store, "p", gateway, model="openai/fake-model")
    assert stats.done == 3
    with sqlite_store.session() as s:
        values = s.scalars(select(Annotation.value)).all()
        calls = s.scalars(select(LLMCall).order_by(LLMCall.id)).all()
        tasks = s.scalars(select(Task)).all()
    assert values == [{"label": "pos"}] * 3  # nothing invalid was stored as a label
    assert all(t.status == "done" for t in tasks)
    failures = [c for c in calls if c.outcome != "ok"]
    kinds = {c.error_kind for c in failures}
    assert {"rate_limit", "server_error", "timeout", "truncated", "schema_mismatch"} <= kinds
    truncated = next(c for c in failures if c.error_kind == "truncated")
    assert truncated.raw_text == '{"label": "po'
    bad_label = next(c for c in failures if c.error_kind == "schema_mismatch")
    assert bad_label.raw_text is not None and '"meh"' in bad_label.raw_text
    assert len(handler.seen) >= len(SCRIPT) + 3
    assert all(body["model"] == "fake-model" for body in handler.seen)
