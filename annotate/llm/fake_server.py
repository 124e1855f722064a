"""A fake OpenAI-compatible chat server on 127.0.0.1 that enforces a rate limit, for tests and
benchmarks of pacing and throughput (run in its own process so it never competes with the
client for the GIL)::

    with serve_fake(latency_s=0.05, rpm=600) as server:
        # litellm model "openai/fake" with api_base=server.base_url
        ...
        server.stats()  # {"accepted": ..., "rejected": ..., "first": ..., "last": ...}

It answers after ``latency_s``: a random schema-valid value when the request asks for a JSON
schema (as the ``dry-run`` model), else ``{"label": "neutral"}``. With ``rpm`` it accepts at most
``rpm * window_s / 60`` requests in any ``window_s`` seconds (sliding window, as a provider that
enforces its per-minute limit per second) and answers the others 429 with ``Retry-After``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

ANSWER = '{"label": "neutral"}'


@dataclass(frozen=True)
class FakeServer:
    base_url: str  # http://127.0.0.1:PORT/v1

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.base_url.removesuffix("/v1") + "/stats") as r:
            data: dict[str, Any] = json.load(r)
        return data

    def reset(self) -> None:
        urllib.request.urlopen(self.base_url.removesuffix("/v1") + "/reset").read()


@contextmanager
def serve_fake(*, latency_s: float = 0.05, rpm: float | None = None, window_s: float = 1.0,
               retry_after_s: float = 1.0) -> Iterator[FakeServer]:
    """Start the server in a subprocess; stopped (by its pid) on exit."""
    argv = [sys.executable, "-m", "annotate.llm.fake_server", "--latency", str(latency_s),
            "--window", str(window_s), "--retry-after", str(retry_after_s)]
    if rpm:
        argv += ["--rpm", str(rpm)]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # the port, once it listens
        if not line.strip():
            raise RuntimeError("the fake server did not start")
        yield FakeServer(f"http://127.0.0.1:{int(line)}/v1")
    finally:
        process.terminate()
        process.wait(10)


class _Limit:
    def __init__(self, rpm: float | None, window_s: float) -> None:
        self.capacity = int(rpm * window_s / 60) if rpm else None
        self.window_s = window_s
        self.arrivals: collections.deque[float] = collections.deque()
        self.accepted = 0
        self.rejected = 0
        self.rejected_at: list[float] = []  # seconds after the first request
        self.first: float | None = None
        self.last: float | None = None

    def admit(self) -> bool:
        now = time.monotonic()
        self.first = now if self.first is None else self.first
        self.last = now
        if self.capacity is None:
            self.accepted += 1
            return True
        while self.arrivals and self.arrivals[0] <= now - self.window_s:
            self.arrivals.popleft()
        if len(self.arrivals) >= self.capacity:
            self.rejected += 1
            self.rejected_at.append(round(now - self.first, 3))
            return False
        self.arrivals.append(now)
        self.accepted += 1
        return True


def _app(latency_s: float, limit: _Limit, retry_after_s: float) -> Any:
    from aiohttp import web

    from annotate.llm.dry_run import dry_run_text

    async def chat(request: web.Request) -> web.Response:
        body = await request.json()
        if not limit.admit():
            return web.json_response(
                {"error": {"message": "Rate limit reached", "type": "requests",
                           "code": "rate_limit_exceeded"}},
                status=429, headers={"Retry-After": f"{retry_after_s:g}"})
        await asyncio.sleep(latency_s)
        schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("schema")
        answer = dry_run_text(schema, json.dumps(body.get("messages"))) if schema else ANSWER
        return web.json_response({
            "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": answer}}],
            "usage": {"prompt_tokens": 20, "completion_tokens": 6, "total_tokens": 26}})

    async def stats(_request: web.Request) -> web.Response:
        span = (limit.last - limit.first) if limit.first is not None and limit.last else 0.0
        return web.json_response({"accepted": limit.accepted, "rejected": limit.rejected,
                                  "rejected_at": limit.rejected_at[:20], "seconds": span})

    async def reset(_request: web.Request) -> web.Response:
        limit.__init__(  # type: ignore[misc]
            None if limit.capacity is None else limit.capacity * 60 / limit.window_s,
            limit.window_s)
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/chat/completions", chat)
    app.router.add_get("/stats", stats)
    app.router.add_get("/reset", reset)
    return app


async def _serve(args: argparse.Namespace) -> None:
    from aiohttp import web

    limit = _Limit(args.rpm, args.window)
    runner = web.AppRunner(_app(args.latency, limit, args.retry_after), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(port, flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--rpm", type=float, default=None)
    parser.add_argument("--window", type=float, default=1.0)
    parser.add_argument("--retry-after", type=float, default=1.0)
    asyncio.run(_serve(parser.parse_args()))


if __name__ == "__main__":
    main()
