"""Failures are values on the ledger; retries with backoff on 429s, timeouts and 5xx."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from annotate.llm.gateway import Gateway, GatewaySettings
from annotate.llm.testing import (
    Reply,
    install_fake,
    malformed,
    rate_limited,
    reply,
    server_error,
    timed_out,
    truncated,
)
from annotate.llm.types import Completion, LLMError, LLMRequest
from annotate.store.models import LLMCall


@pytest.mark.parametrize(
    ("step", "kind"),
    [
        (malformed('{"label": "pos"'), "invalid_json"),
        (reply("Sure! The label is pos."), "invalid_json"),
        (reply('{"label": "great"}'), "schema_mismatch"),
        (reply('{"verdict": "pos"}'), "schema_mismatch"),
        (truncated('{"label": "po'), "truncated"),
    ],
)
def test_unusable_answers_are_invalid_values_with_raw_text_on_the_ledger(
    gateway: Gateway, label_schema: dict[str, Any], ledger_rows: Callable[[], list[LLMCall]],
    step: Reply, kind: str,
) -> None:
    install_fake(steps=[step])
    result = gateway.complete(LLMRequest.chat("s", "u", json_schema=label_schema))

    assert isinstance(result, LLMError)
    assert (result.kind, result.outcome, result.raw_text) == (kind, "invalid", step.text)
    [row] = ledger_rows()
    assert (row.outcome, row.error_kind, row.raw_text) == ("invalid", kind, step.text)
    assert row.id == result.call_id and row.error


def test_retries_rate_limits_timeouts_and_server_errors_then_succeeds(
    gateway: Gateway, label_schema: dict[str, Any], ledger_rows: Callable[[], list[LLMCall]],
) -> None:
    fake = install_fake(steps=[rate_limited(), timed_out(), server_error(503),
                               reply('{"label": "neutral"}')])
    result = gateway.complete(LLMRequest.chat("s", "u", json_schema=label_schema))

    assert isinstance(result, Completion) and result.data == {"label": "neutral"}
    assert fake.call_count == 4
    rows = ledger_rows()
    assert [(r.outcome, r.error_kind) for r in rows] == [
        ("error", "rate_limit"), ("error", "timeout"), ("error", "server_error"), ("ok", None)
    ]
    assert rows[-1].response and rows[-1].response["attempts"] == 4


def test_gives_up_after_the_retries_with_an_error_value(
    store: Any, make_project: Callable[..., int], ledger_rows: Callable[[], list[LLMCall]],
) -> None:
    settings = GatewaySettings(model="fake/m", retries=2, backoff_base_s=0.001)
    fake = install_fake(default=rate_limited("slow down"))
    result = Gateway(store, make_project(), settings).complete(LLMRequest.chat("s", "u"))

    assert isinstance(result, LLMError)
    assert (result.kind, result.outcome, result.attempts) == ("rate_limit", "error", 3)
    assert "slow down" in result.message
    assert fake.call_count == 3
    assert [r.outcome for r in ledger_rows()] == ["error"] * 3


def test_a_bad_request_is_not_retried(gateway: Gateway) -> None:
    fake = install_fake(default=server_error(400, "schema not supported"))
    result = gateway.complete(LLMRequest.chat("s", "u"))
    assert isinstance(result, LLMError) and result.kind == "bad_request"
    assert fake.call_count == 1


def test_backoff_grows_exponentially_with_jitter(gateway: Gateway) -> None:
    settings = GatewaySettings(backoff_base_s=1.0, backoff_max_s=5.0)
    backoff = Gateway(gateway.ledger.store, None, settings).backoff
    delays = [backoff.delay(n) for n in (1, 2, 3, 4, 5)]
    bounds = [(0.5, 1), (1, 2), (2, 4), (2.5, 5), (2.5, 5)]
    assert all(low <= d <= high for d, (low, high) in zip(delays, bounds, strict=True))


def test_at_most_max_in_flight_calls_reach_the_model(
    store: Any, make_project: Callable[..., int]
) -> None:
    in_flight, peak, lock = [0], [0], threading.Lock()

    def slow_answer(model: str, messages: Any, params: Any) -> Reply:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.03)
        with lock:
            in_flight[0] -= 1
        return reply("ok")

    install_fake(responder=slow_answer)
    gateway = Gateway(store, make_project(), GatewaySettings(model="fake/m", max_in_flight=3))
    threads = [threading.Thread(target=gateway.complete, args=(LLMRequest.chat("s", f"u{i}"),))
               for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 3


def test_litellm_prices_the_call_on_the_ledger(
    gateway: Gateway, ledger_rows: Callable[[], list[LLMCall]]
) -> None:
    install_fake(steps=[reply("ok", prompt_tokens=100, completion_tokens=10)],
                 models=["priced"], price_per_token=(1e-6, 3e-6))
    result = gateway.complete(LLMRequest.chat("s", "u", model="fake/priced"))
    assert isinstance(result, Completion)
    assert result.cost_usd == pytest.approx(100 * 1e-6 + 10 * 3e-6)
    [row] = ledger_rows()
    assert (row.prompt_tokens, row.completion_tokens) == (100, 10)
    assert row.cost_usd == pytest.approx(result.cost_usd) and row.latency_s > 0


def test_an_unpriced_model_costs_zero(gateway: Gateway) -> None:
    install_fake(steps=[reply("ok")])
    result = gateway.complete(LLMRequest.chat("s", "u", model="fake/no-price-known"))
    assert isinstance(result, Completion) and result.cost_usd == 0.0
