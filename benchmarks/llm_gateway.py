"""LLM gateway benchmarks; prints ratios against their baselines.

    .venv/bin/python benchmarks/llm_gateway.py [--items 24] [--requests 1600] [--skip-local]

(a) overhead per label of the gateway (cache lookup, ledger rows, litellm, answer checks) over
    the raw xllamacpp call with the embedded model: same prompts, same loaded model, same run,
    alternating which goes first, same llama.cpp prompt-cache state before each (goal <= 5%);
(b) throughput with a fake hosted model (50 ms per call, 16 in flight) against the ideal
    16 / 0.05 s = 320 requests/s (goal >= 90%);
(c) rerun of a finished batch: model calls made (goal 0).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Run as a script: import the project from the repo root, and keep this folder off sys.path so
# a sibling benchmark module (e.g. benchmarks/queue.py) cannot shadow the standard library.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from annotate.llm.gateway import Gateway, GatewaySettings, load_litellm
from annotate.llm.testing import install_fake, reply
from annotate.llm.types import Completion, LLMError, LLMParams, LLMRequest, openai_body
from annotate.store.engine import Store, open_store
from annotate.store.models import Project

LATENCY_S = 0.05
IN_FLIGHT = 16
IDEAL_RPS = IN_FLIGHT / LATENCY_S
SCHEMA = {
    "type": "object",
    "properties": {"label": {"type": "string", "enum": ["positive", "negative", "neutral"]}},
    "required": ["label"],
    "additionalProperties": False,
}
SYSTEM = 'Label the sentiment of the review. Answer JSON: {"label": "positive"}.'
REVIEWS = [
    "Great phone, the battery lasts two days.", "The screen cracked after a week.",
    "Delivery took three days.", "Best coffee I have had in years!",
    "The manual is written in English.", "Awful customer support, never again.",
    "It does what it says.", "I regret buying this blender.",
    "Lovely staff and a quiet room.", "The box was blue.",
    "Broke on the first use, cheap plastic.", "Five stars, would buy again.",
]


def _request(i: int, model: str) -> LLMRequest:
    review = f"{REVIEWS[i % len(REVIEWS)]} (#{i})"
    return LLMRequest.chat(SYSTEM, f"Review: {review}", json_schema=SCHEMA, model=model,
                           params=LLMParams(max_tokens=24))


def _new_store(directory: str, name: str) -> tuple[Store, int]:
    store = open_store(f"sqlite:///{directory}/{name}.db")
    with store.session() as session:
        project = Project(name=name, kind="classification", schema_json={}, policy_json={})
        session.add(project)
        session.flush()
        return store, project.id


def bench_local_overhead(directory: str, items: int) -> dict[str, float]:
    """(a) gateway vs raw xllamacpp, one item at a time, alternating order."""
    from annotate.llm.local_model import get_local_model

    store, project_id = _new_store(directory, "local")
    gateway = Gateway(store, project_id, GatewaySettings(max_in_flight=1))
    server = get_local_model().server
    load_litellm()
    warm = _request(10_000, "local/smollm2")
    server.handle_chat_completions(_raw_body(warm))
    gateway.complete(warm)

    raw_s: list[float] = []
    gw_s: list[float] = []
    cpu = {id(raw_s): 0.0, id(gw_s): 0.0}
    for i in range(items):
        request = _request(i, "local/smollm2")
        runs: list[tuple[list[float], Callable[[], Any]]] = [
            (raw_s, lambda r=request: server.handle_chat_completions(_raw_body(r))),
            (gw_s, lambda r=request: _expect_ok(gateway.complete(r))),
        ]
        for times, run in runs if i % 2 == 0 else runs[::-1]:
            # llama.cpp reuses the KV cache of the longest common prefix: put the same other
            # prompt before each timed call so both start from the same cache state.
            server.handle_chat_completions({**_raw_body(_request(-2, "x")), "max_tokens": 1})
            started, cpu_started = time.perf_counter(), time.process_time()
            run()
            times.append(time.perf_counter() - started)
            cpu[id(times)] += time.process_time() - cpu_started
    per_item = [g - r for g, r in zip(gw_s, raw_s, strict=True)]
    return {
        "raw_s_per_label": sum(raw_s) / items,
        "gateway_s_per_label": sum(gw_s) / items,
        "overhead_ratio": sum(gw_s) / sum(raw_s) - 1,
        "median_overhead_ms": statistics.median(per_item) * 1000,
        "cpu_overhead_ms": (cpu[id(gw_s)] - cpu[id(raw_s)]) / items * 1000,
    }


def _raw_body(request: LLMRequest) -> dict[str, Any]:
    body = openai_body(request, "smollm2")
    body.pop("model")
    return body


def _expect_ok(result: Any) -> None:
    if not isinstance(result, Completion):
        raise SystemExit(f"gateway call failed: {result}")


def bench_throughput(directory: str, requests: int) -> dict[str, float]:
    """(b) N requests through 16 threads against a fake hosted model at 50 ms, through the
    gateway and, for reference, through bare ``litellm.completion`` (no cache, no ledger)."""
    store, project_id = _new_store(directory, "hosted")
    fake = install_fake("benchhosted", default=reply('{"label": "neutral"}'), latency_s=LATENCY_S,
                        price_per_token=(0.0, 0.0))
    settings = GatewaySettings(model="benchhosted/m", max_in_flight=IN_FLIGHT)
    gateway = Gateway(store, project_id, settings)
    gateway.complete(_request(-1, settings.model))  # warm up litellm's paths
    litellm = load_litellm()

    def bare(request: LLMRequest) -> Any:
        return litellm.completion(**openai_body(request, settings.model), num_retries=0)

    bare_s, bare_cpu = _run_batch(bare, requests, settings.model, offset=100_000)
    elapsed, cpu = _run_batch(gateway.complete, requests, settings.model)
    rps = requests / elapsed
    return {"requests": requests, "calls": fake.call_count - 1, "seconds": elapsed,
            "requests_per_s": rps, "ratio_to_ideal": rps / IDEAL_RPS,
            "cpu_ms_per_request": cpu / requests * 1000,
            "bare_litellm_requests_per_s": requests / bare_s,
            "bare_litellm_cpu_ms_per_request": bare_cpu / requests * 1000}


def bench_rerun(directory: str, requests: int) -> dict[str, float]:
    """(c) a finished batch run again: every answer from the cache."""
    store, project_id = _new_store(directory, "rerun")
    fake = install_fake("benchrerun", default=reply('{"label": "neutral"}'), latency_s=LATENCY_S,
                        price_per_token=(0.0, 0.0))
    settings = GatewaySettings(model="benchrerun/m", max_in_flight=IN_FLIGHT)
    gateway = Gateway(store, project_id, settings)
    _run_batch(gateway.complete, requests, settings.model)
    first_calls = fake.call_count
    elapsed, _cpu = _run_batch(gateway.complete, requests, settings.model)
    return {"first_run_calls": first_calls, "rerun_calls": fake.call_count - first_calls,
            "rerun_seconds": elapsed}


def _run_batch(
    complete: Callable[[LLMRequest], Any], requests: int, model: str, offset: int = 0
) -> tuple[float, float]:
    """Wall seconds and process CPU seconds to run ``requests`` requests on 16 threads."""
    todo = iter(range(offset, offset + requests))
    lock = threading.Lock()
    failures: list[Any] = []

    def worker() -> None:
        while True:
            with lock:
                i = next(todo, None)
            if i is None:
                return
            result = complete(_request(i, model))
            if isinstance(result, LLMError):
                failures.append(result)

    threads = [threading.Thread(target=worker) for _ in range(IN_FLIGHT)]
    started, cpu_started = time.perf_counter(), time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise SystemExit(f"{len(failures)} calls failed, e.g. {failures[0]}")
    return time.perf_counter() - started, time.process_time() - cpu_started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=40, help="labels for (a)")
    parser.add_argument("--requests", type=int, default=1600, help="requests for (b) and (c)")
    parser.add_argument("--skip-local", action="store_true", help="skip (a)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        if not args.skip_local:
            a = bench_local_overhead(directory, args.items)
            print(f"(a) embedded model, {args.items} labels: raw xllamacpp "
                  f"{a['raw_s_per_label']:.3f} s/label, gateway {a['gateway_s_per_label']:.3f} "
                  f"s/label -> overhead {a['overhead_ratio']:+.1%} "
                  f"(median {a['median_overhead_ms']:+.1f} ms/label, process CPU "
                  f"{a['cpu_overhead_ms']:+.1f} ms/label; goal <= 5%)")
        b = bench_throughput(directory, args.requests)
        print(f"(b) fake hosted model, {LATENCY_S * 1000:.0f} ms, {IN_FLIGHT} in flight: "
              f"{b['requests_per_s']:.0f} req/s vs ideal {IDEAL_RPS:.0f} -> "
              f"{b['ratio_to_ideal']:.1%} of ideal (goal >= 90%); "
              f"{b['cpu_ms_per_request']:.2f} CPU ms/request")
        print(f"    bare litellm.completion, same fake and threads: "
              f"{b['bare_litellm_requests_per_s']:.0f} req/s "
              f"({b['bare_litellm_requests_per_s'] / IDEAL_RPS:.1%} of ideal), "
              f"{b['bare_litellm_cpu_ms_per_request']:.2f} CPU ms/request; gateway/bare = "
              f"{b['requests_per_s'] / b['bare_litellm_requests_per_s']:.1%}")
        c = bench_rerun(directory, args.requests)
        print(f"(c) rerun of a finished batch of {args.requests}: {c['rerun_calls']} model calls "
              f"(first run {c['first_run_calls']}), {c['rerun_seconds']:.2f} s (goal 0 calls)")


if __name__ == "__main__":
    main()
