"""Hosted models under rate limits, and the asyncio gateway's throughput (issue #17 item 2).

    .venv/bin/python benchmarks/rate_limits.py [--paced 300] [--requests 400] [--quick]

Against a fake OpenAI-compatible server on 127.0.0.1 (:mod:`annotate.llm.fake_server`, in its
own process):

(a) a server that enforces 600 requests/minute (at most 10 in any second; 429 beyond it):
    ``--paced`` requests at 16 in flight with the project's policy ``rate_limits`` set to 600
    rpm: 16 threads calling the gateway themselves, 16 threads handing their calls to the
    gateway loop (``LoopClient``, what ``annotate run`` does with a hosted model) and 16 asyncio
    tasks. Goal: 0 rejected, near 600 requests/minute. For contrast, the threads with no limit
    in the policy;
(b) throughput of the asyncio gateway (door, cache lookup, budget, ledger rows, answer checks)
    against bare ``litellm.acompletion`` at the same concurrency in the same run: 50 ms and
    500 ms latency, 16 and 64 in flight (goal >= 0.9x). The order alternates per setting.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from annotate.llm.async_gateway import AsyncGateway, LoopClient
from annotate.llm.fake_server import FakeServer, serve_fake
from annotate.llm.gateway import Gateway, GatewaySettings, load_litellm, register_price
from annotate.llm.types import Completion, LLMClient, LLMParams, LLMRequest, openai_body
from annotate.store.engine import Store, open_store
from annotate.store.models import Project

MODEL = "openai/fake-hosted"
SCHEMA = {"type": "object", "properties": {"label": {"type": "string"}},
          "required": ["label"], "additionalProperties": False}


def _request(i: int) -> LLMRequest:
    return LLMRequest.chat("Label the sentiment of the review. Answer JSON.",
                           f"Review: the delivery took {i} days.", json_schema=SCHEMA,
                           model=MODEL, params=LLMParams(max_tokens=24))


def _new_project(directory: str, name: str, policy: dict[str, Any]) -> tuple[Store, int]:
    store = open_store(f"sqlite:///{directory}/{name}.db")
    with store.session() as session:
        project = Project(name=name, kind="classification", schema_json={}, policy_json=policy)
        session.add(project)
        session.flush()
        return store, project.id


def _threaded(gateway: LLMClient, n: int, offset: int, in_flight: int) -> tuple[float, int]:
    todo = iter(range(offset, offset + n))
    lock = threading.Lock()
    failed: list[Any] = []

    def worker() -> None:
        while True:
            with lock:
                i = next(todo, None)
            if i is None:
                return
            if not isinstance(gateway.complete(_request(i)), Completion):
                failed.append(i)

    threads = [threading.Thread(target=worker) for _ in range(in_flight)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, len(failed)


async def _tasks(call: Callable[[LLMRequest], Awaitable[Any]], n: int, offset: int,
                 in_flight: int) -> tuple[float, int]:
    todo = iter(range(offset, offset + n))
    failed = 0

    async def worker() -> None:
        nonlocal failed
        for i in todo:  # the tasks share the iterator: one loop, no lock needed
            result = await call(_request(i))
            if isinstance(result, Exception) or (
                    hasattr(result, "kind") and not isinstance(result, Completion)):
                failed += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return time.perf_counter() - started, failed


def bench_paced(directory: str, n: int) -> None:
    """(a) 600 rpm enforced; threaded and asyncio gateways, with and without the policy."""
    with serve_fake(latency_s=0.05, rpm=600) as server:
        os.environ["OPENAI_API_BASE"] = server.base_url
        for label, policy, paths in (
                ("policy rate_limits 600 rpm", {MODEL: {"rpm": 600}},
                 ("threads", "threads->loop", "asyncio")),
                ("no rate_limits (contrast)", {}, ("threads",))):
            for path in paths:
                server.reset()
                store, pid = _new_project(directory, f"paced{len(label)}{path}",
                                          {"rate_limits": policy})
                gateway = Gateway(store, pid, GatewaySettings(
                    model=MODEL, max_in_flight=16, backoff_base_s=0.2, retries=6))
                offset = 1_000_000 * (1 + len(path)) + 10_000 * len(label)
                if path == "threads":
                    seconds, failed = _threaded(gateway, n, offset, 16)
                elif path == "threads->loop":
                    client = LoopClient(gateway)
                    seconds, failed = _threaded(client, n, offset, 16)
                    client.close()
                else:
                    front = AsyncGateway(gateway)
                    seconds, failed = asyncio.run(_tasks(front.complete, n, offset, 16))
                    front.close()
                stats = server.stats()
                print(f"(a) {label}, {path}, 16 in flight: {n} requests in {seconds:.1f} s = "
                      f"{n / seconds * 60:.0f} requests/min; server rejected "
                      f"{stats['rejected']} (429), failed after retries {failed}", flush=True)


async def _bare(server: FakeServer, n: int, offset: int, in_flight: int) -> tuple[float, int]:
    litellm = load_litellm()

    async def call(request: LLMRequest) -> Any:
        return await litellm.acompletion(**openai_body(request, MODEL), num_retries=0,
                                         api_base=server.base_url)

    return await _tasks(call, n, offset, in_flight)


def bench_throughput(directory: str, n: int, settings: list[tuple[float, int]]) -> None:
    """(b) the asyncio gateway vs bare litellm.acompletion, same server, same run."""
    for k, (latency, in_flight) in enumerate(settings):
        requests = max(in_flight * 4, min(n, int(in_flight / latency * 6)))
        with serve_fake(latency_s=latency) as server:
            os.environ["OPENAI_API_BASE"] = server.base_url
            store, pid = _new_project(directory, f"tp{k}", {})
            front = AsyncGateway(Gateway(store, pid, GatewaySettings(
                model=MODEL, max_in_flight=in_flight)))
            asyncio.run(_tasks(front.complete, in_flight, 9_000_000 + k * 1000, in_flight))
            asyncio.run(_bare(server, in_flight, 8_000_000 + k * 1000, in_flight))  # warm
            runs: dict[str, float] = {}
            order = ("bare", "gateway") if k % 2 == 0 else ("gateway", "bare")
            for which in order:
                offset = (1 if which == "bare" else 2) * 10_000_000 + k * 100_000
                seconds, failed = asyncio.run(
                    _bare(server, requests, offset, in_flight) if which == "bare"
                    else _tasks(front.complete, requests, offset, in_flight))
                if failed:
                    raise SystemExit(f"{failed} {which} calls failed")
                runs[which] = requests / seconds
            front.close()
        ideal = in_flight / latency
        print(f"(b) {latency * 1000:.0f} ms, {in_flight} in flight, {requests} requests: "
              f"bare acompletion {runs['bare']:.0f} req/s ({runs['bare'] / ideal:.0%} of ideal "
              f"{ideal:.0f}), gateway {runs['gateway']:.0f} req/s -> gateway/bare = "
              f"{runs['gateway'] / runs['bare']:.2f}x (goal >= 0.9x)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paced", type=int, default=300, help="requests per run of (a)")
    parser.add_argument("--requests", type=int, default=600, help="at most, per run of (b)")
    parser.add_argument("--quick", action="store_true", help="(b) at 50 ms only")
    parser.add_argument("--skip-paced", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("OPENAI_API_KEY", "sk-fake")
    load_litellm()
    register_price(MODEL, 1.5e-7, 6e-7)  # a hosted model has a price: litellm prices each call
    settings = [(0.05, 16), (0.05, 64)] + ([] if args.quick else [(0.5, 16), (0.5, 64)])
    with tempfile.TemporaryDirectory() as directory:
        if not args.skip_paced:
            bench_paced(directory, args.paced)
        bench_throughput(directory, args.requests, settings)


if __name__ == "__main__":
    main()
