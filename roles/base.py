"""What every LLM role shares: the project context, the Role protocol, failure values.

A role is four small steps, each testable alone: ``render`` a prompt from the guideline and
the item, ``call`` the model through the gateway, ``parse`` its JSON, ``validate`` the value
against the project's schema. A failure at any step is a :class:`RoleFailure` value carrying
its kind and the raw model output; the worker records it on the task (which goes back to the
queue or fails once out of attempts) and it is on the ledger; it is never stored as a label.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select, update

from annotate.kinds.schema import LabelSchema
from annotate.llm.types import Completion, LLMClient, LLMError, LLMParams, LLMRequest
from annotate.projects.calibrators import StoredCalibrator, project_calibrators
from annotate.projects.catalog import current_guideline, get_project, project_policy, project_schema
from annotate.projects.policy import RoutingPolicy
from annotate.queue.leases import ClaimedTask, Provenance
from annotate.queue.wants import RoleWants
from annotate.queue.worker import Answer
from annotate.store.engine import Store
from annotate.store.models import Item, LLMCall
from guidelines.prompts import RenderedPrompt


@dataclass(frozen=True)
class Example:
    text: str
    answer: str


@dataclass(frozen=True)
class ProjectContext:
    """What a role needs to know about its project, loaded once per run."""

    project_id: int
    name: str
    schema: LabelSchema
    policy: RoutingPolicy
    guideline: str
    guideline_version: str
    examples: tuple[Example, ...] = ()
    calibrators: tuple[StoredCalibrator, ...] = ()  # fitted under this guideline version

    @classmethod
    def load(cls, store: Store, name: str) -> ProjectContext:
        with store.session() as session:
            project = get_project(session, name)
            guideline = current_guideline(session, project)
            schema = project_schema(project)
            return cls(project_id=project.id, name=project.name, schema=schema,
                       policy=project_policy(project), guideline=guideline.content,
                       guideline_version=guideline.version,
                       examples=tuple(guideline_examples(guideline.content, schema)),
                       calibrators=tuple(project_calibrators(session, project.id,
                                                             guideline.version)))


@dataclass
class RoleContext:
    """A role's view of one run: the store, the model client, the project."""

    store: Store
    llm: LLMClient
    project: ProjectContext
    model: str
    worker_id: str = "llm"
    params: dict[str, Any] = field(default_factory=dict)

    def calibrate(self, estimator: str, raw: float | None) -> float | None:
        """``raw`` through the project's calibrator for this model, estimator and guideline
        version (loaded with the project); ``raw`` itself when none was fitted (a draft
        guideline is a new version: it has none)."""
        return None if raw is None else self.calibrated(estimator, raw)

    def calibrated(self, estimator: str, raw: float) -> float:
        """:meth:`calibrate` for a signal that is there."""
        found = next((c for c in self.project.calibrators if c.model == self.model
                      and c.estimator == estimator
                      and c.guideline_version == self.project.guideline_version), None)
        return found.fitted.apply(raw) if found is not None else raw

    def item(self, item_id: int) -> Item:
        with self.store.session() as session:
            item = session.get(Item, item_id)
            assert item is not None
            session.expunge(item)
            return item

    def items(self, item_ids: Sequence[int]) -> list[Item]:
        """The items of ``item_ids``, in that order, read in one statement (a batch's: one
        read per item cost the distilled annotator two thirds of its model's time)."""
        with self.store.session() as session:
            found = {item.id: item for item in
                     session.scalars(select(Item).where(Item.id.in_(set(item_ids))))}
            session.expunge_all()
        return [found[item_id] for item_id in item_ids]


@dataclass(frozen=True)
class RoleFailure:
    """Why a role could not produce a usable answer, with the model's raw output."""

    kind: str
    message: str
    raw_text: str | None = None
    call_id: int | None = None

    def as_answer(self) -> Answer:
        return Answer(failure=f"{self.kind}: {self.message}")


class Role(Protocol):
    """A role answers one claimed task (render -> call -> parse -> validate); ``wants`` says
    which tasks routing creates for it (first pass, before people, after a disagreement)."""

    name: str
    wants: RoleWants

    def answer(self, ctx: RoleContext, task: ClaimedTask) -> Answer: ...


@dataclass(frozen=True)
class Attempt:
    """Which task (if any) a call is for, and which attempt: a retry samples anew."""

    role: str
    number: int = 1
    task_id: int | None = None

    @classmethod
    def of(cls, task: ClaimedTask) -> Attempt:
        return cls(role=task.role, number=task.attempts, task_id=task.id)


def call_model(ctx: RoleContext, prompt: RenderedPrompt, schema: dict[str, Any],
               task: ClaimedTask | Attempt, *, max_tokens: int = 256,
               model: str | None = None, logprobs: bool = False,
               sample: int | None = None) -> Completion | RoleFailure:
    """Send a rendered prompt with a JSON schema; a retry varies the seed (new sample).
    ``logprobs`` asks for token log-probabilities; ``sample`` (0, 1, ...) is one of several
    sampled answers (temperature 0.7, a seed per sample and attempt, so each is its own
    call and cache key)."""
    attempt = task if isinstance(task, Attempt) else Attempt.of(task)
    retry = attempt.number > 1
    model = model or ctx.model
    seed: int | None = attempt.number if retry else None
    temperature = 0.7 if retry else 0.0
    if sample is not None:
        temperature, seed = SAMPLE_TEMPERATURE, 1 + sample + 1000 * (attempt.number - 1)
    params = LLMParams(temperature=temperature, max_tokens=max_tokens, seed=seed,
                       logprobs=True if logprobs else None,
                       top_logprobs=TOP_LOGPROBS if logprobs else None)
    request = LLMRequest.chat(prompt.system, prompt.user, json_schema=schema,
                              model=model, params=params, role=attempt.role,
                              task_id=attempt.task_id)
    result = ctx.llm.complete(request)  # the gateway holds the personal-data door
    if isinstance(result, LLMError):
        return RoleFailure(result.kind, result.message, result.raw_text, result.call_id)
    return result


def reject(ctx: RoleContext, completion: Completion, kind: str, message: str) -> RoleFailure:
    """The answer parsed but is not a valid value: mark its ledger row invalid and fail."""
    if completion.call_id and not completion.cached:
        with ctx.store.session() as session:
            session.execute(update(LLMCall).where(LLMCall.id == completion.call_id)
                            .values(outcome="invalid", error_kind=kind, error=message))
    return RoleFailure(kind, message, completion.text, completion.call_id)


def llm_provenance(ctx: RoleContext, completion: Completion, prompt: RenderedPrompt, *,
                   confidence: float | None, rationale: str | None,
                   meta: dict[str, Any] | None = None, confidence_estimator: str | None = None,
                   confidence_raw: float | None = None) -> Provenance:
    """Everything an LLM annotation stores about how it was made."""
    return Provenance(
        confidence_estimator=confidence_estimator, confidence_raw=confidence_raw,
        annotator_id=completion.model, annotator_kind="llm", rationale=rationale,
        confidence=confidence, guideline_version=ctx.project.guideline_version,
        prompt_hash=prompt.prompt_hash, model=completion.model,
        params={"template": prompt.template, "template_version": prompt.template_version},
        cost_usd=completion.cost_usd, latency_s=completion.latency_s, source="llm",
        meta={**completion.provenance, **(meta or {})},
    )


SAMPLE_TEMPERATURE = 0.7  # sampled answers of the consistency estimator
TOP_LOGPROBS = 20  # alternatives per token for the logprob estimator (OpenAI's maximum)

_BULLET = re.compile(r"^\s*[-*]\s+\*\*(?P<label>[^*]+)\*\*:(?P<body>.*)$")
_EXAMPLE = re.compile(r'Example:\s*"(?P<text>[^"]+)"', re.IGNORECASE)


def guideline_examples(guideline: str, schema: LabelSchema) -> list[Example]:
    """Labelled examples written in the guideline's label list (``- **label**: ...
    Example: "text"``, the bullet may wrap): few-shot examples in the annotator's prompt."""
    examples = []
    label: str | None = None
    body: list[str] = []
    for line in [*guideline.splitlines(), "- end"]:
        bullet = _BULLET.match(line)
        if bullet or not line.strip() or line.lstrip().startswith(("#", "-", "*")):
            match = _EXAMPLE.search(" ".join(body)) if label else None
            if match and label in schema.labels:
                examples.append(Example(match.group("text"), label))
            label, body = (bullet.group("label").strip(), [bullet.group("body")]) if bullet \
                else (None, [])
        elif label is not None:
            body.append(line)
    return examples


def item_annotations(store: Store, item_id: int, role: str = "annotator") -> list[Any]:
    """The final answers already given on an item by a role (people and models alike)."""
    from annotate.store.models import Annotation

    with store.session() as session:
        rows = session.execute(
            select(Annotation.value, Annotation.annotator_kind, Annotation.rationale)
            .where(Annotation.item_id == item_id, Annotation.role == role,
                   Annotation.phase == "final")
            .order_by(Annotation.id)
        ).all()
    return list(rows)
