"""Request cache in our own database: a rerun makes 0 model calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from annotate.llm.gateway import Gateway
from annotate.llm.testing import install_fake, reply
from annotate.llm.types import Completion, LLMParams, LLMRequest, request_hash
from annotate.store.models import LLMCall


def _requests(n: int, schema: dict[str, Any]) -> list[LLMRequest]:
    return [LLMRequest.chat("Label the sentiment.", f"item {i}", json_schema=schema,
                            role="annotator", task_id=i) for i in range(n)]


def test_rerun_of_a_finished_batch_makes_no_model_calls(
    gateway: Gateway, label_schema: dict[str, Any],
    ledger_rows: Callable[[], list[LLMCall]],
) -> None:
    fake = install_fake(default=reply('{"label": "pos"}'))
    first = [gateway.complete(r) for r in _requests(5, label_schema)]
    assert fake.call_count == 5
    rerun = [gateway.complete(r) for r in _requests(5, label_schema)]

    assert fake.call_count == 5  # no new model call
    assert all(isinstance(c, Completion) and c.cached for c in rerun)
    assert [c.data for c in rerun] == [c.data for c in first]  # type: ignore[union-attr]
    rows = ledger_rows()
    assert len(rows) == 10
    cached = [r for r in rows if r.cached]
    assert len(cached) == 5
    assert all(r.cost_usd == 0 and r.outcome == "ok" and r.task_id is not None for r in cached)


def test_cache_key_covers_model_messages_params_and_schema(label_schema: dict[str, Any]) -> None:
    base = LLMRequest.chat("s", "u", json_schema=label_schema)
    key = request_hash(base, "fake/m")
    assert key == request_hash(base.model_copy(update={"role": "x", "task_id": 9}), "fake/m")
    assert key != request_hash(base, "fake/other")
    assert key != request_hash(LLMRequest.chat("s", "u2", json_schema=label_schema), "fake/m")
    assert key != request_hash(base.model_copy(update={"params": LLMParams(seed=1)}), "fake/m")
    assert key != request_hash(LLMRequest.chat("s", "u"), "fake/m")


def test_failed_answers_are_not_served_from_the_cache(
    gateway: Gateway, label_schema: dict[str, Any]
) -> None:
    fake = install_fake(steps=[reply("not json"), reply('{"label": "neg"}')])
    request = LLMRequest.chat("s", "u", json_schema=label_schema)
    assert not isinstance(gateway.complete(request), Completion)
    again = gateway.complete(request)
    assert isinstance(again, Completion) and not again.cached and again.data == {"label": "neg"}
    assert fake.call_count == 2


def test_use_cache_false_and_a_new_seed_call_the_model_again(
    gateway: Gateway, label_schema: dict[str, Any]
) -> None:
    fake = install_fake(default=reply('{"label": "pos"}'))
    request = LLMRequest.chat("s", "u", json_schema=label_schema)
    gateway.complete(request)
    gateway.complete(request.model_copy(update={"use_cache": False}))
    gateway.complete(request.model_copy(update={"params": LLMParams(seed=2)}))
    assert fake.call_count == 3


def test_the_cache_is_shared_by_gateways_on_the_same_database(
    gateway: Gateway, make_project: Callable[..., int], label_schema: dict[str, Any]
) -> None:
    fake = install_fake(default=reply('{"label": "pos"}'))
    request = LLMRequest.chat("s", "u", json_schema=label_schema)
    gateway.complete(request)
    other = Gateway(gateway.ledger.store, make_project("q"), gateway.settings)
    hit = other.complete(request)
    assert isinstance(hit, Completion) and hit.cached
    assert fake.call_count == 1
