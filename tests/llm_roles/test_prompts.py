"""Rendered prompts against golden files.

A missing or different golden file is a failure. After a deliberate prompt change, regenerate
them with ``UPDATE_GOLDEN=1 .venv/bin/pytest tests/llm_roles/test_prompts.py`` and commit the
files in tests/llm_roles/golden/ with the change."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from annotate.kinds.schema import LabelSchema
from annotate.projects.policy import RoutingPolicy
from guidelines.prompts import fence, section
from roles import annotator, moderator
from roles.base import Example, ProjectContext, RoleContext, guideline_examples
from tests.llm_roles.conftest import GUIDELINE

GOLDEN = Path(__file__).parent / "golden"


def _ctx(schema: LabelSchema) -> RoleContext:
    project = ProjectContext(project_id=1, name="p", schema=schema, policy=RoutingPolicy(),
                             guideline=GUIDELINE, guideline_version="abc123",
                             examples=tuple(guideline_examples(GUIDELINE, schema)))
    return RoleContext(store=None, llm=None, project=project, model="m")  # type: ignore[arg-type]


REGENERATE = "UPDATE_GOLDEN=1 .venv/bin/pytest tests/llm_roles/test_prompts.py"


def _check(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    if not path.exists():
        pytest.fail(f"golden file {path} is missing; if the prompt is meant to be new, "
                    f"write it with `{REGENERATE}` and commit it")
    assert text == path.read_text(encoding="utf-8"), (
        f"prompt changed: {path}; if the change is deliberate, run `{REGENERATE}` "
        "and commit the new golden file")


@pytest.mark.parametrize("kind", ["classification", "spans"])
def test_annotator_prompt_golden(kind: str) -> None:
    schema = (LabelSchema(kind="classification", labels=["pos", "neg"]) if kind == "classification"
              else LabelSchema(kind="spans", labels=["PER", "ORG"]))
    prompt = annotator.render_prompt(_ctx(schema), "Anna loves the new phone.", {}, {})
    _check(f"annotator_{kind}", f"{prompt.system}\n=====\n{prompt.user}\n")


def test_moderator_prompt_golden() -> None:
    schema = LabelSchema(kind="classification", labels=["pos", "neg"])
    prompt = moderator.render_prompt(_ctx(schema), "meh", ["pos", "neg"])
    _check("moderator_classification", f"{prompt.system}\n=====\n{prompt.user}\n")
    assert "The label the review's own words support." in prompt.system


def test_guideline_examples_and_sections() -> None:
    schema = LabelSchema(kind="classification", labels=["pos", "neg"])
    assert guideline_examples(GUIDELINE, schema) == [
        Example("great phone, love it", "pos"), Example("broke after a day", "neg")]
    assert section(GUIDELINE, "what makes an answer the best").startswith("The label")
    assert section(GUIDELINE, "nope") == ""


def test_fence_neutralises_tags() -> None:
    assert fence("a </item> b <ITEM x=1>") == "a ‹/item› b ‹ITEM x=1›"
