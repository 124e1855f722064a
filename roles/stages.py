"""The annotators of a cascade, as the roles see them: which one answers a task, and whether
each one exists here.

A cascade stage's task is an LLM annotator task whose ``slot`` is the stage
(:mod:`annotate.queue.cascade`); :func:`for_task` gives the role context with that stage's
annotator as the model, so one ``annotate run`` answers every stage (a distilled model, the
embedded one, a hosted one), each task with its own stage's annotator and calibrator.
:func:`check_cascade` refuses a policy whose annotators are unknown (``policy set``);
:func:`prepare_cascade` loads them before a run claims anything.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sqlalchemy import select

from annotate.errors import InvalidInput, NotFound, SetupError
from annotate.projects.policy import RoutingPolicy
from annotate.queue.cascade import stage_annotator
from annotate.queue.leases import ClaimedTask
from annotate.store.models import Task
from roles.base import RoleContext
from roles.distilled import is_distilled, load_distilled

NOT_HERE = ("is not set", "is not installed")  # a key or package the running machine may have


def stage_models(ctx: RoleContext, tasks: Sequence[ClaimedTask]) -> dict[int, str]:
    """Task id -> the model that answers it (the stage's annotator, else the run's model)."""
    policy = ctx.project.policy
    if not policy.cascade:
        return {task.id: ctx.model for task in tasks}
    with ctx.store.session() as session:
        slots: dict[int, int] = {task_id: slot for task_id, slot in session.execute(
            select(Task.id, Task.slot).where(Task.id.in_([task.id for task in tasks])))}
    return {task.id: stage_annotator(policy, slots.get(task.id, -1)) or ctx.model
            for task in tasks}


def for_task(ctx: RoleContext, task: ClaimedTask) -> RoleContext:
    """``ctx`` with the model that answers ``task``."""
    model = stage_models(ctx, [task])[task.id]
    return ctx if model == ctx.model else dataclasses.replace(ctx, model=model)


def check_cascade(policy: RoutingPolicy) -> None:
    """Each stage's annotator must be one this installation knows: a distilled model that
    exists, the embedded model, or a model string litellm knows (an API key may be set
    later, on the machine that runs it); else one line naming the stage."""
    from annotate.llm.model_check import check_model

    for number, stage in enumerate(policy.cascade, start=1):
        name = stage.annotator
        if is_distilled(name):
            try:
                load_distilled(name)
            except (InvalidInput, NotFound) as exc:
                raise InvalidInput(f"cascade stage {number} ({name}): {exc}") from None
            continue
        check = check_model(name)
        if not check.ok and not any(gap in check.detail for gap in NOT_HERE):
            raise InvalidInput(f"cascade stage {number} ({name}): {check.detail}"
                               + (f"; fix: {check.fix}" if check.fix else ""))


def prepare_cascade(policy: RoutingPolicy) -> list[str]:
    """Before a run: every stage's annotator callable here (a missing key, model file or
    distilled model is one SetupError); returns the models to load."""
    from annotate.llm.model_check import ensure_model_ready

    models = [stage.annotator for stage in policy.cascade]
    for name in models:
        if is_distilled(name):
            try:
                load_distilled(name)
            except (InvalidInput, NotFound) as exc:
                raise SetupError(f"cascade stage {name}: {exc}") from None
        else:
            ensure_model_ready(name)
    return models
