"""What a model call costs: the worst case reserved before it (:func:`estimate_cost`), what
the provider billed (:func:`response_cost`) and the overrun between them (:func:`overrun`).

Prices come from litellm's table; the gateway passes the litellm module in (it is the one
module that imports litellm). A model without a price is counted as $0, with one warning per
model. The reservations and the cap itself are kept by :mod:`annotate.llm.ledger`.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from annotate.llm.ledger import Reservation
from annotate.llm.types import DRY_RUN_MODEL, LLMRequest

log = logging.getLogger(__name__)

_unpriced_warned: set[str] = set()
# Models litellm's table could not price, with the table's size then: asking again costs
# 1-2 ms of CPU per call (litellm raises), and the answer changes only when a model is added.
_unpriced: dict[str, int] = {}


def _known_unpriced(litellm: Any, model: str) -> bool:
    return _unpriced.get(model) == len(getattr(litellm, "model_cost", None) or ())


def _mark_unpriced(litellm: Any, model: str) -> None:
    _unpriced[model] = len(getattr(litellm, "model_cost", None) or ())
    warn_unpriced(model)


def estimate_cost(litellm: Any, request: LLMRequest, model: str, margin: float) -> float:
    """Upper estimate of a call's cost: prompt tokens (times ``margin``) plus all max_tokens,
    priced by litellm's table; 0 for free or unpriced models."""
    if model == DRY_RUN_MODEL or _known_unpriced(litellm, model):
        return 0.0
    messages = [m.model_dump() for m in request.messages]
    try:
        counted: int = litellm.token_counter(model=model, messages=messages)
    except Exception:  # no tokenizer for this model: assume 2 characters per token
        counted = sum(len(m.content) for m in request.messages) // 2
    prompt_tokens = math.ceil(counted * margin) + 16
    try:
        costs = litellm.cost_per_token(
            model=model, prompt_tokens=prompt_tokens,
            completion_tokens=request.params.max_tokens,
        )
    except Exception:  # litellm raises when the model has no price
        _mark_unpriced(litellm, model)
        return 0.0
    return float(costs[0]) + float(costs[1])


def response_cost(litellm: Any, response: Any, model: str) -> float:
    """Cost from litellm's price table (litellm already priced the response); 0 when unknown."""
    hidden = getattr(response, "_hidden_params", None) or {}
    cost = hidden.get("response_cost")
    if isinstance(cost, int | float):
        return float(cost)
    if _known_unpriced(litellm, model):
        return 0.0
    try:
        return float(litellm.completion_cost(completion_response=response, model=model))
    except Exception:
        _mark_unpriced(litellm, model)
        return 0.0


def overrun(reservation: Reservation, cost_usd: float) -> float:
    """What a call cost above its reservation (0 without one, or within float noise)."""
    if reservation.call_id is None:
        return 0.0
    over = cost_usd - reservation.reserved_usd
    return over if over > 1e-9 * reservation.reserved_usd + 1e-12 else 0.0


def warn_unpriced(model: str) -> None:
    if model not in _unpriced_warned:
        _unpriced_warned.add(model)
        log.warning("litellm has no price for %s: its calls are counted as $0", model)
