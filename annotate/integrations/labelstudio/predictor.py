"""The seam between the ML backend and the LLM roles: something that predicts values for items.

The annotator role satisfies :class:`Predictor` through :class:`AnnotatorPredictor`; tests use
a scripted fake. The backend loads one predictor at start and keeps it (a local model is
loaded once, not per request).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from annotate.kinds.schema import LabelSchema
from annotate.llm.client import make_client
from annotate.llm.types import DEFAULT_MODEL
from annotate.settings import DEFAULT_RESERVATION_TTL_S
from annotate.store.engine import Store
from roles.annotator import label_text
from roles.base import Attempt, ProjectContext, RoleContext, RoleFailure


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


@dataclass
class AnnotatorPredictor:
    """The annotator role as a Label Studio ML backend predictor (model loaded once)."""

    ctx: RoleContext

    @property
    def model_version(self) -> str:
        return f"{self.ctx.model}@{self.ctx.project.guideline_version}"

    def predict(self, schema: LabelSchema, items: Sequence[ItemToPredict]
                ) -> list[PredictedValue | PredictionFailure]:
        out: list[PredictedValue | PredictionFailure] = []
        for item in items:
            result = label_text(self.ctx, item.text, item.data or {}, {},
                                Attempt(role="annotator"))
            if isinstance(result, RoleFailure):
                out.append(PredictionFailure(result.kind, result.message, result.raw_text))
            else:
                out.append(PredictedValue(result.value, result.confidence))
        return out


def load_predictor(store: Store, project: str, model: str = DEFAULT_MODEL, *,
                   reservation_ttl_s: float = DEFAULT_RESERVATION_TTL_S) -> Predictor:
    """The project's annotator role, answering with ``model`` (the edge reads it from the
    settings), as the backend's predictor."""
    context = ProjectContext.load(store, project)
    client = make_client(store, context.project_id, model, reservation_ttl_s=reservation_ttl_s)
    return AnnotatorPredictor(RoleContext(store=store, llm=client, project=context,
                                          model=model, worker_id="labelstudio-backend"))
