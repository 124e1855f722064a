"""A model litellm cannot price is asked about once, not on every call (1-2 ms of CPU each),
until litellm's price table gains a model."""

from __future__ import annotations

from typing import Any, ClassVar

from annotate.llm import budget


class PriceTable:
    """The two litellm functions response_cost uses: a table that prices only what it holds."""

    def __init__(self) -> None:
        self.model_cost: dict[str, float] = {}
        self.asked = 0

    def completion_cost(self, completion_response: Any, model: str) -> float:
        self.asked += 1
        if model not in self.model_cost:
            raise ValueError(f"no price for {model}")
        return self.model_cost[model]


class Response:
    _hidden_params: ClassVar[dict[str, Any]] = {}  # litellm could not price it either


def test_an_unpriced_model_is_asked_about_once_until_the_table_grows() -> None:
    table = PriceTable()
    model = "memo-test/unpriced"
    assert [budget.response_cost(table, Response(), model) for _ in range(3)] == [0.0] * 3
    assert table.asked == 1
    table.model_cost[model] = 0.25  # register_model adds the price
    assert budget.response_cost(table, Response(), model) == 0.25
    assert table.asked == 2
