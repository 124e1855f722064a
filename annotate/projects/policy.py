"""The routing policy: data, stored with the project, that decides who is asked and when.

Per item it says how many human and LLM annotations to collect, whether the Helper prepares
suggestions first, when the Moderator is called (only on disagreement), when a person
adjudicates (the moderator is unsure), which share goes to double human annotation for
calibration, and whether people label blind.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from typing_extensions import TypedDict

from annotate.errors import InvalidInput
from annotate.kinds.optional import default_policy_overrides

MAX_LEASE_SECONDS = 7 * 24 * 3600
MAX_PRIORITY = 1_000_000  # priorities are 32-bit INTEGER columns; this leaves ample room

Aggregation = Literal["majority", "dawid_skene"]
"""How an item's final label is made from its annotations when nobody decided it: the
majority vote (ties unresolved), or Dawid-Skene (votes weighted by each annotator's
estimated confusion matrix). A moderator's or adjudicator's decision wins over either."""
AGGREGATION_CHOICES: dict[str, str] = {
    "majority": "the vote of the answers; a tie stays unresolved",
    "dawid_skene": "votes weighted by each annotator's estimated competence"}
"""What each ``Aggregation`` means, in a line (the setup form shows it by the choice)."""

Estimator = Literal["verbalized", "logprob", "consistency"]
"""How the LLM annotator's confidence is made: the 0-100 number it writes (``verbalized``),
the probability of its decision from token log-probabilities (``logprob``), or the share of
sampled answers that agree (``consistency``). A distilled model always gives its own
predicted probability (``distilled``)."""
ESTIMATOR_CHOICES: dict[str, str] = {
    "verbalized": "the 0-100 number the model writes",
    "logprob": "token probabilities of its decision",
    "consistency": "the share of sampled answers that agree"}
"""What each ``Estimator`` means, in a line (the setup form shows it by the choice)."""


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    return value


PerMinute = Annotated[float, Field(gt=0, allow_inf_nan=False), BeforeValidator(_not_bool)]


class RateLimits(TypedDict, total=False):
    """A model's limits at its provider: requests and tokens per minute."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    rpm: PerMinute
    tpm: PerMinute


MAX_STAGES = 6
DISTILLED_PREFIX = "distilled:"


class CascadeStage(BaseModel):
    """One stage of a cascade: an annotator (``distilled:NAME`` or a model string) and the
    (calibrated) confidence at which its answer stands; below it the item moves on."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    annotator: str = Field(min_length=1, max_length=200,
                           description="distilled:NAME or a model string (local/smollm2, "
                           "openai/gpt-4o-mini, ...)")
    threshold: float = Field(ge=0, le=1, description="its answer stands at this confidence or "
                             "above; below it the item goes to the next stage (or to people)")

    @field_validator("annotator")
    @classmethod
    def _annotator_name(cls, value: str) -> str:
        if not value.isprintable() or any(c.isspace() for c in value):
            raise ValueError("must be distilled:NAME or a model string, without spaces")
        if value.startswith(DISTILLED_PREFIX) and not value.removeprefix(DISTILLED_PREFIX):
            raise ValueError("a distilled annotator needs a name: distilled:NAME")
        return value

    @field_validator("threshold", mode="before")
    @classmethod
    def _threshold_not_bool(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be a number, not true/false")
        return value


class RoutingPolicy(BaseModel):
    """How work on each item is routed between people and LLM roles."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    human_annotations: int = Field(1, ge=0, le=20, description="human annotations per item")
    llm_annotations: int = Field(1, ge=0, le=10, description="LLM annotator answers per item")
    helper_first: bool = Field(
        False, description="the Helper prepares candidates before anyone annotates"
    )
    helper_candidates: int = Field(3, ge=1, le=10, description="candidates the Helper prepares")
    helper_extra_calls: int = Field(
        2, ge=0, le=10, description="calls the Helper may add when copies, duplicates or "
        "prompt text leave fewer distinct candidates than asked")
    helper_min_meaning: float = Field(
        0.4, ge=0, le=1, description="written candidates less similar to the item than this "
        "(sentence embeddings, when installed) are dropped; 0 for answers that need not "
        "resemble the item, such as replies")
    synth_max_auc: float | None = Field(
        0.8, ge=0.5, le=1, description="expert synth imports nothing when a real-vs-synthetic "
        "classifier tells the batch apart with a cross-validated AUC above this (0.5: they "
        "cannot be told apart; None: not checked)")
    synth_max_similarity: float = Field(
        0.9, ge=0, le=1, description="expert synth drops a paraphrase this alike its source or "
        "more (surface similarity of normalised text): a near-copy")
    synth_min_meaning: float = Field(
        0.4, ge=0, le=1, description="expert synth drops a paraphrase whose meaning kept "
        "(embedding similarity to its source) is below this: drifted")
    moderator_on_disagreement: bool = Field(
        True, description="the Moderator is called when annotators disagree (else a person)")
    adjudicate_below: float = Field(
        0.6, ge=0, le=1, description="a person adjudicates when the moderator's confidence is lower"
    )
    double_annotation_share: float = Field(
        0.0, ge=0, le=1, description="share of items given one extra human annotation"
    )
    aggregation: Aggregation = Field(
        "majority", description="how final labels are made where nobody decided: majority "
        "(vote, ties unresolved) or dawid_skene (votes weighted by each annotator's estimated "
        "competence); used by export, review, distill and report",
        json_schema_extra={"choices": {**AGGREGATION_CHOICES}})
    human_below_confidence: float | None = Field(
        None, ge=0, le=1,
        description="LLM first: people are asked only when the LLM annotator's confidence is "
        "below this, its answers disagree or it failed (None: people are always asked)")
    blind: bool = Field(False, description="people answer before they see the LLM's suggestion")
    show_sources_in_review: bool = Field(
        False, description="reviewers see who gave each answer (else anonymised)")
    redact_personal_data: bool | None = Field(
        None, description="personal data becomes placeholders for remote models (None: the "
        "default, on for remote models; false turns it off)")
    local_only_personal_data: bool = Field(
        False, description="items with personal data go to the local model only")
    lease_seconds: int = Field(300, ge=1, le=MAX_LEASE_SECONDS,
                               description="how long a claimed task stays leased (1 s to 7 days)")
    max_attempts: int = Field(3, ge=1, le=100,
                              description="attempts before a task is marked failed")
    llm_priority: int = Field(0, ge=-MAX_PRIORITY, le=MAX_PRIORITY,
                              description="priority of LLM tasks (higher first)")
    human_priority: int = Field(0, ge=-MAX_PRIORITY, le=MAX_PRIORITY,
                                description="priority of human tasks (higher first)")
    moderator_model: str | None = Field(
        None, min_length=1, max_length=200,
        description="a different model for the moderator (models prefer their own)")
    submit_delay_ms: int = Field(
        400, ge=0, le=5000,
        description="the workspace ignores a submit until the item has been on screen this "
        "long (ms) and the key was released (0: off)")
    preselect_above: float = Field(
        0.5, ge=0, le=1,
        description="the LLM's suggestion is pre-selected only at this confidence or above "
        "(below it is shown, not pre-selected; 0: always)")
    context_fields: list[str] = Field(
        default_factory=list, max_length=20,
        description="item metadata fields shown above the item as context, in order "
        "(e.g. prev_user, prev_agent)")

    @field_validator("human_annotations", "llm_annotations", "helper_candidates",
                     "helper_extra_calls",
                     "lease_seconds", "max_attempts", "llm_priority", "human_priority",
                     "submit_delay_ms", mode="before")
    @classmethod
    def _no_bool_as_number(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be a number, not true/false")
        return value

    @field_validator("synth_max_auc", "synth_max_similarity", "synth_min_meaning",
                     mode="before")
    @classmethod
    def _bound_not_bool(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be a number, not true/false")
        return value

    @field_validator("moderator_model")
    @classmethod
    def _printable_model(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or any(
                ord(c) < 32 or ord(c) == 127 for c in value)):
            raise ValueError("must be a model name without control characters")
        return value

    @field_validator("context_fields", mode="before")
    @classmethod
    def _field_names(cls, value: Any) -> Any:
        """A list of names; a text field gives "a, b" (or the list as printed: "['a', 'b']")."""
        if value is None:
            return []
        if isinstance(value, str):
            value = [n.strip().strip("'\"") for n in value.strip().strip("[]").split(",")]
            value = [n for n in value if n]
        if isinstance(value, list) and not all(
                isinstance(n, str) and n.strip() and len(n) <= 100 and n.isprintable()
                for n in value):
            raise ValueError("must be names of metadata fields (short, printable)")
        return value

    confidence: Estimator = Field(
        "verbalized", description="how the LLM annotator's confidence is estimated: "
        "verbalized (the number it writes), logprob (token probabilities of its decision), "
        "consistency (agreement of sampled answers)",
        json_schema_extra={"choices": {**ESTIMATOR_CHOICES}})
    confidence_by_model: dict[str, Estimator] = Field(
        default_factory=dict, description="a different estimator for some models "
        "(model string -> estimator); the others use `confidence`")
    consistency_samples: int = Field(
        5, ge=2, le=20, description="sampled answers per item for the consistency estimator")

    @field_validator("consistency_samples", mode="before")
    @classmethod
    def _samples_not_bool(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be a number, not true/false")
        return value

    rate_limits: dict[str, RateLimits] = Field(
        default_factory=dict, description="a provider's limits per model string, e.g. "
        '{"openai/gpt-4o-mini": {"rpm": 500, "tpm": 200000}}: calls are paced to stay just '
        "under them (per worker process; without an entry, litellm's known limits if any)")

    cascade: list[CascadeStage] = Field(
        default_factory=list, max_length=MAX_STAGES,
        description="annotators tried in order, each with its threshold: an item moves on "
        "only while the last answer is below its stage's threshold, then to people "
        "(empty: no cascade)")

    @model_validator(mode="after")
    def _cascade_alone(self) -> RoutingPolicy:
        """A cascade is the whole LLM-first plan: one answer per stage, its own thresholds."""
        if not self.cascade:
            return self
        names = [s.annotator for s in self.cascade]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"cascade: {repeated[0]} is listed twice")
        clashes = [("llm_annotations", self.llm_annotations != 1,
                    "must be 1 with a cascade (one answer per stage)"),
                   ("human_below_confidence", self.human_below_confidence is not None,
                    "must be unset with a cascade (the last stage's threshold says it)"),
                   ("helper_first", self.helper_first,
                    "must be false with a cascade (people come after the last stage)")]
        for name, clash, message in clashes:
            if clash:
                raise ValueError(f"{name} {message}")
        return self

    def estimator_for(self, model: str) -> Estimator:
        """The confidence estimator the annotator uses with ``model``."""
        return self.confidence_by_model.get(model, self.confidence)

    def setting_text(self, key: str) -> str:
        """A setting as ``policy show`` prints it (what applies, not only what is stored)."""
        value = getattr(self, key)
        if key == "redact_personal_data" and value is None:
            return "default: on for remote models"
        if key == "redact_personal_data" and value is False:
            return "False (off: remote models see personal data)"
        if key == "cascade":
            return " -> ".join([f"{s.annotator} (>= {s.threshold:g})" for s in value]
                               + ["people"]) if value else "[] (none)"
        return str(value)

    def needs_double(self, external_id: str) -> bool:
        """Deterministic pick of the items sent to double annotation (stable across runs)."""
        if self.double_annotation_share <= 0:
            return False
        digest = hashlib.sha256(external_id.encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < self.double_annotation_share

    @property
    def llm_first(self) -> bool:
        """People wait for the LLM annotator (every stage of a cascade) and are asked only
        where it is unsure."""
        return ((self.human_below_confidence is not None or bool(self.cascade))
                and self.llm_annotations > 0 and not self.helper_first)

    def humans_for(self, external_id: str) -> int:
        """How many human annotations this item needs."""
        return self.human_annotations + (1 if self.needs_double(external_id) else 0)


NEW_PROJECT: dict[str, Any] = {"human_annotations": 1, "llm_annotations": 1,
                               "double_annotation_share": 0.1}
"""The policy a new project starts with, before its kind's ``default_policy_overrides``."""


def default_policy(kind: str) -> RoutingPolicy:
    """The policy a new project of this kind starts with."""
    return RoutingPolicy(**{**NEW_PROJECT, **default_policy_overrides(kind)})


def load_policy(path: Path) -> RoutingPolicy:
    """Read a policy file (JSON, or TOML by extension) with a clear error on bad fields."""
    from annotate.infile import read_text_file

    raw = read_text_file(path, "policy")
    try:
        data: Any
        if path.suffix == ".toml":
            import tomllib

            data = tomllib.loads(raw)
        else:
            data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        kind = path.suffix.lstrip(".") or "JSON"
        raise InvalidInput(f"{path}: not valid {kind}: {exc}") from None
    return parse_policy(data, source=str(path))


def parse_policy(data: Any, source: str = "policy") -> RoutingPolicy:
    """A policy from parsed JSON/TOML data; the first bad field named in a one-line error."""
    if not isinstance(data, dict):
        raise InvalidInput(f"{source}: a policy is an object of settings, "
                           f"not {type(data).__name__}")
    try:
        return RoutingPolicy.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(f"{source}: {first_error(exc, 'policy')}") from None


def first_error(exc: ValidationError, what: str) -> str:
    """The first pydantic error as ``field: message`` on one line."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or what
    message = str(first["msg"]).removeprefix("Value error, ")
    return " ".join(f"{where}: {message}".split())
