"""A scripted predictor standing in for the LLM annotator role."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from annotate.integrations.labelstudio.predictor import (
    ItemToPredict,
    PredictedValue,
    PredictionFailure,
)
from annotate.kinds.schema import LabelSchema

Answer = PredictedValue | PredictionFailure


class ScriptedPredictor:
    """Answers with ``script(item)``; records every batch it was asked to predict."""

    def __init__(self, script: Callable[[ItemToPredict], Answer],
                 model_version: str = "fake-llm@guideline1") -> None:
        self.script = script
        self._model_version = model_version
        self.batches: list[list[ItemToPredict]] = []

    @property
    def model_version(self) -> str:
        return self._model_version

    def predict(self, schema: LabelSchema, items: Sequence[ItemToPredict]) -> list[Answer]:
        self.batches.append(list(items))
        return [self.script(item) for item in items]
