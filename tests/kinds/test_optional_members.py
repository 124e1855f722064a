"""The optional kind members (:mod:`annotate.kinds.optional`) through the code that asks
for them: reading a CSV label cell on import, the option fields, the new-project form, the
default policy, distillation, the item display's highlight and the Helper's candidates in
Label Studio. Each built-in kind gives what it gave before the members existed; the
``ranking`` plugin kind defines one of them (CSV cells) and gets the defaults of the rest."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from annotate.distill.train import distill_project
from annotate.errors import InvalidInput
from annotate.integrations.labelstudio.config import labeling_config
from annotate.integrations.labelstudio.convert import LabelStudioCheck
from annotate.integrations.labelstudio.push import plan_predictions
from annotate.io.importing import import_file
from annotate.io.importing.records import value_from_label
from annotate.kinds import optional
from annotate.kinds.base import SetupForm
from annotate.kinds.schema import LabelSchema, RatingFeature, validate_value
from annotate.projects.catalog import create_project
from annotate.projects.policy import RoutingPolicy, default_policy
from annotate.services.project_files import schema_from_form
from annotate.store.engine import Store
from annotate.store.models import Annotation, Suggestion
from tests.kinds.conftest import Register
from tests.plugins.ranking_kind import Ranking

RANKING = "tests.plugins.ranking_kind:KIND"
TEXT = "Анна работает в ООО Ромашка."
RATED = LabelSchema(kind="rating", features=[RatingFeature(name="fluency", scale=[1, 2, 3])])
TWO_RATED = LabelSchema(kind="rating", features=[
    RatingFeature(name="fluency", scale=[1, 2, 3]), RatingFeature(name="style", scale=["a", "b"])])
SCHEMAS = {
    "classification": LabelSchema(kind="classification", labels=["pos", "neg"]),
    "multilabel": LabelSchema(kind="multilabel", labels=["a", "b", "c"]),
    "spans": LabelSchema(kind="spans", labels=["PER", "ORG"]),
    "rating": RATED,
    "choice": LabelSchema(kind="choice", options=["response1", "response2"]),
    "text": LabelSchema(kind="text"),
}


class Unreadable(Ranking):
    """A kind that says it reads no CSV label cell (None, as for any optional member)."""

    name = "unreadable"
    value_from_label = None


@pytest.mark.parametrize(("kind", "cell", "value"), [
    ("classification", " pos ", {"label": "pos"}),
    ("multilabel", "c | a", {"labels": ["a", "c"]}),
    ("multilabel", "", {"labels": []}),
    ("spans", '[{"start": 0, "end": 4, "label": "PER"}]',
     {"spans": [{"start": 0, "end": 4, "label": "PER", "text": "Анна"}]}),
    ("rating", " 2 ", {"ratings": {"fluency": 2}}),
    ("rating", '{"fluency": 3}', {"ratings": {"fluency": 3}}),
    ("choice", " response2 ", {"choice": "response2"}),
    ("text", "Анна работает.", {"text": "Анна работает.", "edited": False}),
])
def test_each_builtin_kind_reads_its_csv_label_cell(kind: str, cell: str,
                                                    value: dict[str, Any]) -> None:
    schema = SCHEMAS[kind]
    assert validate_value(schema, value_from_label(schema, cell), TEXT) == value


@pytest.mark.parametrize(("schema", "cell", "message"), [
    (SCHEMAS["spans"], "[{", "label is not valid JSON: "),
    (SCHEMAS["spans"], "[" * 5000 + "]" * 5000, "label is nested too deeply"),
    (TWO_RATED, "2", "a bare rating '2' is ambiguous: give a JSON object for fluency, style"),
])
def test_a_cell_that_does_not_read_says_why(schema: LabelSchema, cell: str,
                                            message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        value_from_label(schema, cell)


def test_a_whole_value_is_taken_as_it_is() -> None:
    assert value_from_label(SCHEMAS["classification"], {"label": "neg"}) == {"label": "neg"}


def _labelled_csv(path: Path, labels: dict[str, str]) -> Path:
    rows = [f"q{i},Which {i} first?,{who},{label}"
            for i, (who, label) in enumerate(labels.items())]
    path.write_text("item_id,text,annotator,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_a_labelled_csv_imports_into_a_ranking_project(store: Store, tmp_path: Path,
                                                       register_kind: Register) -> None:
    register_kind("ranking", RANKING)
    schema = LabelSchema(kind="ranking", options=["a", "b", "c"], allow_tie=False)
    with store.session() as session:
        create_project(session, "rank", schema)
    path = _labelled_csv(tmp_path / "ranked.csv",
                         {"ann1": "b > a > c", "ann2": '"[""c"", ""a"", ""b""]"'})
    result = import_file(store, "rank", path)
    assert (result.format, result.items, result.annotations) == ("labelled-csv", 2, 2)
    with store.session() as session:
        values = sorted(a.value["ranking"] for a in session.scalars(select(Annotation)))
    assert values == [["b", "a", "c"], ["c", "a", "b"]]


def test_a_kind_that_reads_no_cells_refuses_a_labelled_csv_in_one_line(
        store: Store, tmp_path: Path, register_kind: Register) -> None:
    register_kind("unreadable", "tests.kinds.test_optional_members:Unreadable")
    schema = LabelSchema(kind="unreadable", options=["a", "b"], allow_tie=False)
    with store.session() as session:
        create_project(session, "u", schema)
    path = _labelled_csv(tmp_path / "u.csv", {"ann1": "b>a"})
    with pytest.raises(InvalidInput) as caught:
        import_file(store, "u", path)
    assert str(caught.value) == (
        f"{path}:2: ann1: a unreadable answer cannot be read from a bare label 'b>a'; import "
        "it as a whole value (export-jsonl)")


def test_only_a_choice_chooses_among_fields_of_the_item(register_kind: Register) -> None:
    register_kind("ranking", RANKING)
    assert {kind: optional.option_fields(schema) for kind, schema in SCHEMAS.items()} == {
        "classification": [], "multilabel": [], "spans": [], "rating": [],
        "choice": ["response1", "response2"], "text": []}
    ranking = LabelSchema(kind="ranking", options=["a", "b"], allow_tie=False)
    assert optional.option_fields(ranking) == []  # its options are not item fields


def test_a_choice_project_reads_a_pairwise_file_with_its_options(
        store: Store, tmp_path: Path) -> None:
    with store.session() as session:
        create_project(session, "pairs", SCHEMAS["choice"])
    path = tmp_path / "pairs.jsonl"
    path.write_text('{"id": "p1", "text": "Which?", "response1": "A", "response2": "B", '
                    '"human_labels": {"ann1": "response2"}}\n', encoding="utf-8")
    result = import_file(store, "pairs", path)
    assert (result.format, result.annotations) == ("pairwise-jsonl", 1)


def test_spans_are_highlighted_and_other_kinds_are_not() -> None:
    spans = {"spans": [{"start": 0, "end": 4, "label": "PER", "text": "Анна"}]}
    marked = optional.highlight(SCHEMAS["spans"], TEXT, spans)
    assert marked is not None and marked.startswith(":blue-background[Анна **PER**]")
    assert optional.highlight(SCHEMAS["spans"], TEXT, {"spans": []}) is None
    assert optional.highlight(SCHEMAS["choice"], TEXT, {"choice": "response1"}) is None


NEW_PROJECT = {"human_annotations": 1, "llm_annotations": 1, "double_annotation_share": 0.1,
               "helper_first": False}


@pytest.mark.parametrize(("kind", "expected"), [
    *((kind, NEW_PROJECT) for kind in ("classification", "multilabel", "spans", "rating",
                                       "choice", "ranking")),
    ("text", {"human_annotations": 1, "llm_annotations": 0, "double_annotation_share": 0.0,
              "helper_first": True}),
])
def test_a_new_projects_policy_by_kind(kind: str, expected: dict[str, Any],
                                       register_kind: Register) -> None:
    register_kind("ranking", RANKING)
    policy = default_policy(kind).model_dump()
    assert {key: policy[key] for key in expected} == expected
    assert {k: v for k, v in policy.items() if k not in expected} == {
        k: v for k, v in RoutingPolicy().model_dump().items() if k not in expected}


@pytest.mark.parametrize("kind", ["multilabel", "ranking"])
def test_distill_refuses_a_kind_that_is_not_distillable(kind: str, store: Store,
                                                        register_kind: Register) -> None:
    register_kind("ranking", RANKING)
    schema = (SCHEMAS["multilabel"] if kind == "multilabel"
              else LabelSchema(kind="ranking", options=["a", "b"], allow_tie=False))
    with store.session() as session:
        create_project(session, "p", schema)
    with pytest.raises(InvalidInput) as caught:
        distill_project(store, "p")
    assert str(caught.value) == (f"annotate distill supports classification and choice "
                                 f"projects only; 'p' is {kind} ({kind} is not supported yet)")
    assert [k for k in (*SCHEMAS, "ranking") if optional.distillable(k)] == [
        "classification", "choice"]


@pytest.mark.parametrize(("kind", "form", "labels", "scale", "tie", "expected"), [
    ("classification", SetupForm(), "pos, neg", "", True,
     {"kind": "classification", "labels": ["pos", "neg"]}),
    ("multilabel", SetupForm(), "a\nb", "", True, {"kind": "multilabel", "labels": ["a", "b"]}),
    ("spans", SetupForm(), "PER,ORG", "", True, {"kind": "spans", "labels": ["PER", "ORG"]}),
    ("rating", SetupForm(labels="Features to rate", scale=True), "fluency, style", "1,2,bad",
     True, {"kind": "rating", "features": [{"name": "fluency", "scale": [1, 2, "bad"]},
                                           {"name": "style", "scale": [1, 2, "bad"]}]}),
    ("rating", SetupForm(labels="Features to rate", scale=True), "", "-1,0,1", True,
     {"kind": "rating", "features": [{"name": "quality", "scale": [-1, 0, 1]}]}),
    ("choice", SetupForm(labels="Options (the item's fields)", tie=True), "", "", False,
     {"kind": "choice", "options": ["response1", "response2"], "allow_tie": False}),
    ("text", SetupForm(), "", "", True, {"kind": "text"}),
    ("ranking", SetupForm(), "a, b, c", "", True,
     {"kind": "ranking", "options": ["a", "b", "c"], "allow_tie": False}),
])
def test_the_new_project_form_asks_what_the_kind_needs(
        kind: str, form: SetupForm, labels: str, scale: str, tie: bool,
        expected: dict[str, Any], register_kind: Register) -> None:
    register_kind("ranking", RANKING)
    assert optional.setup_form(kind) == form
    made = schema_from_form(kind, labels, scale, tie)
    assert made == LabelSchema.model_validate(expected)


@pytest.mark.parametrize(("kind", "labels", "scale", "message"), [
    ("rating", "fluency", "5", "a rating scale needs at least two points, e.g. 1,2,3,4,5"),
    ("classification", "", "", "a classification project needs labels: --labels a,b,c or "
                               "--schema FILE"),
    ("choice", "only", "", "a choice schema needs at least two options"),
])
def test_a_form_that_cannot_make_a_schema_says_why(kind: str, labels: str, scale: str,
                                                   message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        schema_from_form(kind, labels, scale)
    assert str(caught.value) == message


def _suggestion(texts: list[str]) -> Suggestion:
    return Suggestion(id=7, project_id=1, item_id=1, model="helper-model", guideline_version="g1",
                      candidates=[{"value": {"text": t, "candidate": i}, "text": t, "score": 0.5}
                                  for i, t in enumerate(texts)])


def test_label_studio_gets_the_helpers_candidates_only_where_its_config_takes_them() -> None:
    text = SCHEMAS["text"]
    check = LabelStudioCheck(labeling_config(text))
    planned, invalid = plan_predictions(text, TEXT, [], _suggestion(["один", "два"]), check)
    assert invalid == []
    assert [(p.key, p.result[0]["value"], p.score) for p in planned] == [
        ("s7:0", {"text": ["один"]}, 0.5), ("s7:1", {"text": ["два"]}, 0.5)]
    classes = SCHEMAS["classification"]
    ranked = Suggestion(id=8, project_id=1, item_id=1, model="helper-model",
                        guideline_version="g1",
                        candidates=[{"value": {"label": "pos"}, "score": 0.9}])
    assert plan_predictions(classes, TEXT, [], ranked,
                            LabelStudioCheck(labeling_config(classes))) == ([], [])
    assert optional.candidate_value(text) is not None
    assert optional.candidate_value(classes) is None
