"""A role that is nowhere in the platform's code: ``critic``, registered under the
``annotate.roles`` entry point group. On every item's first pass it asks the model for one of
the project's labels (a classification project), as many times as the policy asks the LLM
annotator for answers (``llm_annotations``)."""

from __future__ import annotations

from typing import Any

from annotate.queue.leases import ClaimedTask
from annotate.queue.wants import RoleWants, Stage
from annotate.queue.worker import Answer
from guidelines.prompts import RenderedPrompt
from roles.base import RoleContext, RoleFailure, call_model, llm_provenance, reject


class CriticRole:
    name = "critic"
    wants = RoleWants(Stage.FIRST_PASS, "llm_annotations")

    def answer(self, ctx: RoleContext, task: ClaimedTask) -> Answer:
        labels = list(ctx.project.schema.labels)
        prompt = RenderedPrompt(system="You are a strict critic. Answer with one label.",
                                user=ctx.item(task.item_id).text, template="critic")
        schema: dict[str, Any] = {
            "type": "object", "additionalProperties": False, "required": ["label"],
            "properties": {"label": {"type": "string", "enum": labels}}}
        result = call_model(ctx, prompt, schema, task)
        if isinstance(result, RoleFailure):
            return result.as_answer()
        label = result.data.get("label") if isinstance(result.data, dict) else None
        if label not in labels:
            return reject(ctx, result, "invalid_value", f"not a label: {label!r}").as_answer()
        return Answer(value={"label": label},
                      provenance=llm_provenance(ctx, result, prompt, confidence=None,
                                                rationale="the critic's label"))
