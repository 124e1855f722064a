"""The seam between the ML backend and the LLM roles: something that predicts values for items.

The annotator role satisfies :class:`Predictor`; tests use a scripted fake. The backend loads
one predictor at start and keeps it (a local model is loaded once, not per request).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from annotate.errors import InvalidInput
from annotate.kinds.schema import LabelSchema
from annotate.store.engine import Store


@dataclass(frozen=True)
class ItemToPredict:
    """An item as the predictor sees it (``item_id`` is None for a task we never pushed)."""

    text: str
    item_id: int | None = None
    external_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PredictedValue:
    """A value in the schema's shape with the model's confidence."""

    value: dict[str, Any]
    confidence: float | None = None


@dataclass(frozen=True)
class PredictionFailure:
    """A prediction that did not come out: its kind and the raw model output, kept."""

    kind: str
    message: str
    raw: str | None = None


@runtime_checkable
class Predictor(Protocol):
    """Predicts values for items, one answer per item, in order."""

    @property
    def model_version(self) -> str:
        """``model@guideline-version``: Label Studio groups predictions by it."""
        ...

    def predict(self, schema: LabelSchema, items: Sequence[ItemToPredict]
                ) -> Sequence[PredictedValue | PredictionFailure]:
        ...


PREDICTOR_HOOK = "roles.annotator:labelstudio_predictor"


def load_predictor(store: Store, project: str) -> Predictor:
    """The roles' predictor for ``project`` (the hook the roles package fills in).

    The roles package provides ``roles.annotator.labelstudio_predictor(store, project)``
    returning a :class:`Predictor`; until it does, this raises one clear error.
    """
    import importlib

    module_name, func_name = PREDICTOR_HOOK.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidInput(f"no predictor available yet: {module_name} cannot be imported "
                           f"({exc})") from None
    factory = getattr(module, func_name, None)
    if factory is None:
        raise InvalidInput(f"no predictor available yet: {module_name} has no {func_name}()")
    predictor = factory(store, project)
    if not isinstance(predictor, Predictor):
        raise InvalidInput(f"{PREDICTOR_HOOK} returned {type(predictor).__name__}, "
                           "not a Predictor (model_version, predict)")
    return predictor
