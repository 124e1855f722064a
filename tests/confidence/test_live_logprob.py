"""The logprob estimator on the embedded model (SmolLM2-135M via llama.cpp): the server
returns token log-probabilities through litellm, and the annotator's decision probability,
normalised over the allowed labels, is a probability."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from annotate.llm.gateway import Gateway, GatewaySettings
from annotate.projects.policy import RoutingPolicy
from annotate.store.engine import Store
from annotate.store.models import Annotation
from roles.runner import run_project


@pytest.mark.live_model
def test_the_embedded_models_logprob_confidence_is_a_probability(
        sqlite_store: Store, make_items: Callable[..., int]) -> None:
    pid = make_items(["broke after a day, a waste of money"], policy=RoutingPolicy(
        human_annotations=0, llm_annotations=1, confidence="logprob"))
    gateway = Gateway(sqlite_store, pid, GatewaySettings(model="local/smollm2"))
    stats = run_project(sqlite_store, "p", gateway, model="local/smollm2")
    assert stats.done == 1
    with sqlite_store.session() as session:
        row = session.scalars(select(Annotation)).one()
    assert row.confidence_estimator == "logprob"
    assert row.confidence_raw is not None and 0.0 <= row.confidence_raw <= 1.0
    assert row.confidence == row.confidence_raw  # no calibrator yet
