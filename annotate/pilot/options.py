"""What `annotate pilot` is asked: the costs, the models, the sample and what to measure."""

from __future__ import annotations

from dataclasses import dataclass, field

from annotate.pilot.metrics import Costs
from annotate.settings import DEFAULT_MODEL

THRESHOLDS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


@dataclass(frozen=True)
class PilotOptions:
    costs: Costs
    models: tuple[str, ...] = (DEFAULT_MODEL,)
    sample: int = 50
    seed: int = 0
    thresholds: tuple[float, ...] = THRESHOLDS
    bootstrap: int = 1000
    bins: int = 10
    calibrate: bool = False  # fit and store a calibrator per model on the sample
    estimators: tuple[str, ...] = ()  # compare these confidence estimators per model
    stage_costs: dict[str, float] = field(default_factory=dict)  # model -> USD per item

