"""The budget cap stops a run before a call that would cross it, also under concurrency."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from annotate.errors import BudgetExceeded
from annotate.llm.gateway import Gateway, GatewaySettings
from annotate.llm.testing import Reply, ScriptedLLM, install_fake
from annotate.llm.types import Completion, LLMParams, LLMRequest
from annotate.store.engine import Store, open_store

PRICE = 1e-5  # USD per token, in and out
MAX_TOKENS = 40


def _request(seed: int) -> LLMRequest:
    """Distinct requests (the seed is in the cache key) with identical cost estimates."""
    return LLMRequest.chat("Label it.", "some text", model="fake/priced",
                           params=LLMParams(max_tokens=MAX_TOKENS, seed=seed))


def _install_worst_case(gateway: Gateway, latency_s: float = 0.0) -> tuple[ScriptedLLM, float]:
    """A fake whose every call costs exactly its estimate: the worst case for the cap."""
    tokens = {"prompt": 0}

    def answer(model: str, messages: Any, params: Any) -> Reply:
        return Reply("ok", prompt_tokens=tokens["prompt"], completion_tokens=MAX_TOKENS)

    fake = install_fake(responder=answer, latency_s=latency_s, models=["priced"],
                        price_per_token=(PRICE, PRICE))
    estimate = gateway.estimate_cost(_request(0))
    tokens["prompt"] = round(estimate / PRICE) - MAX_TOKENS
    assert tokens["prompt"] > 0
    return fake, estimate


def _run_until_refused(gateway: Gateway, seeds: range, refused: list[int]) -> None:
    for seed in seeds:
        try:
            gateway.complete(_request(seed))
        except BudgetExceeded:
            refused.append(seed)
            return


def test_stops_before_the_call_that_would_cross_the_budget(
    store: Store, make_project: Callable[..., int], fast_settings: GatewaySettings
) -> None:
    probe = Gateway(store, None, fast_settings)
    fake, estimate = _install_worst_case(probe)
    gateway = Gateway(store, make_project(budget_usd=5.5 * estimate), fast_settings)

    results = [gateway.complete(_request(seed)) for seed in range(5)]
    assert all(isinstance(r, Completion) for r in results)
    with pytest.raises(BudgetExceeded, match=r"budget cap of \$.* reached") as refused:
        gateway.complete(_request(5))

    assert fake.call_count == 5  # the refused call never reached the model
    assert gateway.ledger.spent_usd() == pytest.approx(5 * estimate)
    assert "Raise the project's budget" in str(refused.value)
    cached = gateway.complete(_request(0))  # a cache hit costs nothing: still served
    assert isinstance(cached, Completion) and cached.cached


def test_never_crossed_with_8_threads(
    store: Store, make_project: Callable[..., int], fast_settings: GatewaySettings
) -> None:
    probe = Gateway(store, None, fast_settings)
    fake, estimate = _install_worst_case(probe, latency_s=0.01)
    budget = 20.5 * estimate
    gateway = Gateway(store, make_project(budget_usd=budget),
                      fast_settings.model_copy(update={"max_in_flight": 8}))
    refused: list[int] = []
    threads = [threading.Thread(target=_run_until_refused,
                                args=(gateway, range(t * 1000, t * 1000 + 100), refused))
               for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert fake.call_count == 20  # exactly as many calls as the budget holds
    assert len(refused) == 8
    assert gateway.ledger.spent_usd() == pytest.approx(20 * estimate)
    assert gateway.ledger.spent_usd() <= budget


def test_never_crossed_by_two_gateways_with_separate_engines(
    tmp_path: Any, store: Store, make_project: Callable[..., int],
    fast_settings: GatewaySettings,
) -> None:
    """Two engines on one file stand in for two processes: only the database lock is shared."""
    probe = Gateway(store, None, fast_settings)
    fake, estimate = _install_worst_case(probe, latency_s=0.01)
    project_id = make_project(budget_usd=12.5 * estimate)
    other_store = open_store(f"sqlite:///{tmp_path}/t.db")
    gateways = [Gateway(s, project_id, fast_settings) for s in (store, other_store)]
    refused: list[int] = []
    threads = [threading.Thread(target=_run_until_refused,
                                args=(gateways[t % 2], range(t * 1000, t * 1000 + 100), refused))
               for t in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other_store.dispose()

    assert fake.call_count == 12
    assert gateways[0].ledger.spent_usd() == pytest.approx(12 * estimate)


def test_a_project_without_budget_is_not_capped(
    gateway: Gateway,
) -> None:
    install_fake(default=Reply("ok", prompt_tokens=10_000, completion_tokens=10_000),
                 models=["priced"], price_per_token=(PRICE, PRICE))
    for seed in range(3):
        assert isinstance(gateway.complete(_request(seed)), Completion)
    assert gateway.ledger.spent_usd() == pytest.approx(3 * 20_000 * PRICE)


def test_the_local_and_dry_run_models_are_free(gateway: Gateway) -> None:
    assert gateway.estimate_cost(LLMRequest.chat("s", "u", model="dry-run")) == 0.0
    assert gateway.estimate_cost(LLMRequest.chat("s", "u", model="local/smollm2")) == 0.0
