"""A fake OpenAI-compatible chat-completions server on 127.0.0.1 for the documented commands
that name a hosted model (``openai/gpt-4o-mini``).

The server in ``tests/faults`` scripts failures and always answers one classification label;
the documented commands also call the moderator and the helper, so this one answers every
request with the smallest value valid against the JSON schema in its ``response_format``.
litellm sends ``openai/...`` requests to ``OPENAI_BASE_URL`` (``OPENAI_API_BASE`` in older
releases); both are set, as in tests/faults.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SCALARS: dict[str, Any] = {"boolean": True, "string": "fine", "null": None}


def example_of(schema: dict[str, Any]) -> Any:
    """The first value of each enum, 80 within the bounds of numbers, required properties."""
    if "enum" in schema or "const" in schema:
        return schema["enum"][0] if "enum" in schema else schema["const"]
    kind = schema.get("type", "object")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object":
        props = schema.get("properties", {})
        return {name: example_of(props.get(name, {})) for name in schema.get("required", props)}
    if kind == "array":
        return [example_of(schema.get("items", {}))] * int(schema.get("minItems", 1))
    if kind in ("integer", "number"):
        return max(schema.get("minimum", 0), min(schema.get("maximum", 100), 80))
    return SCALARS.get(kind, "fine")


class _Handler(BaseHTTPRequestHandler):
    calls: list[str]

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.calls.append(body.get("model", ""))
        fmt = body.get("response_format") or {}
        schema = (fmt.get("json_schema") or {}).get("schema")
        content = json.dumps(example_of(schema)) if schema else "fine"
        data = json.dumps({
            "id": "fake", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 20, "completion_tokens": 8, "total_tokens": 28},
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextmanager
def fake_openai_server() -> Iterator[tuple[str, list[str]]]:
    """The base URL (``http://127.0.0.1:PORT/v1``) and the list of models asked so far."""
    calls: list[str] = []
    handler = type("Handler", (_Handler,), {"calls": calls})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", calls
    finally:
        server.shutdown()
        server.server_close()
