"""Labeling configs generated from schemas (no server needed)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from annotate.errors import InvalidInput
from annotate.integrations.labelstudio.config import (
    Control,
    config_signature,
    describe_difference,
    labeling_config,
    rating_controls,
)
from annotate.kinds.schema import LabelSchema, RatingFeature

SCHEMAS = {
    "classification": LabelSchema(kind="classification", labels=["pos", "neg", "a & <b>"]),
    "multilabel": LabelSchema(kind="multilabel", labels=["toxic", "spam"]),
    "spans": LabelSchema(kind="spans", labels=["PER", "ORG", "LOC", "LOCORG"], allow_nested=True),
    "rating": LabelSchema(kind="rating", features=[
        RatingFeature(name="fluency", scale=[1, 2, 3, 4, 5], description="How fluent?"),
        RatingFeature(name="on topic", scale=["no", "partly", "yes"]),
    ]),
    "choice": LabelSchema(kind="choice", options=["response1", "response2"]),
    "choice3": LabelSchema(kind="choice", options=["a", "b", "c"], allow_tie=False),
    "text": LabelSchema(kind="text"),
}


def controls(schema: LabelSchema) -> dict[str, Control]:
    return {c.name: c for c in config_signature(labeling_config(schema))}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_kind_gives_well_formed_xml_with_a_text_object(name: str) -> None:
    root = ET.fromstring(labeling_config(SCHEMAS[name]))
    assert root.tag == "View"
    texts = [e for e in root.iter("Text") if e.get("name") == "text"]
    assert [t.get("value") for t in texts] == ["$text"]


def test_classification_is_single_choices_with_escaped_labels() -> None:
    xml = labeling_config(SCHEMAS["classification"])
    assert 'value="a &amp; &lt;b&gt;"' in xml
    assert controls(SCHEMAS["classification"]) == {
        "label": Control("choices", "label", "text", ("pos", "neg", "a & <b>"), "single")}


def test_multilabel_is_multiple_choices() -> None:
    assert controls(SCHEMAS["multilabel"])["label"].choice == "multiple"


def test_spans_are_labels_over_text() -> None:
    assert controls(SCHEMAS["spans"]) == {
        "label": Control("labels", "label", "text", ("PER", "ORG", "LOC", "LOCORG"))}


def test_rating_uses_stars_for_1_to_n_and_choices_otherwise() -> None:
    got = controls(SCHEMAS["rating"])
    assert got["rating_fluency"] == Control("rating", "rating_fluency", "text", max_rating="5")
    assert got["rating_on_topic"] == Control("choices", "rating_on_topic", "text",
                                             ("no", "partly", "yes"), "single")
    assert "How fluent?" in labeling_config(SCHEMAS["rating"])


def test_rating_control_names_stay_unique() -> None:
    schema = LabelSchema(kind="rating", features=[RatingFeature(name="a b", scale=[1, 2]),
                                                  RatingFeature(name="a_b", scale=[1, 2])])
    assert list(rating_controls(schema)) == ["rating_a_b", "rating_a_b_1"]


def test_two_options_are_pairwise_plus_a_tie_box() -> None:
    got = controls(SCHEMAS["choice"])
    assert got["choice"] == Control("pairwise", "choice", "option_0,option_1")
    assert got["tie"].values == ("tie",)
    xml = labeling_config(SCHEMAS["choice"])
    assert '<Text name="option_0" value="$option_0"' in xml


def test_more_options_are_choices() -> None:
    assert controls(SCHEMAS["choice3"]) == {
        "choice": Control("choices", "choice", "text", ("a", "b", "c"), "single")}


def test_text_is_a_textarea_beside_the_candidates() -> None:
    xml = labeling_config(SCHEMAS["text"])
    assert controls(SCHEMAS["text"])["answer"].tag == "textarea"
    assert '<Text name="candidates" value="$candidates"' in xml


def test_signature_ignores_layout_but_sees_a_changed_label() -> None:
    xml = labeling_config(SCHEMAS["spans"])
    assert describe_difference(xml, " ".join(xml.split())) == ""
    changed = labeling_config(LabelSchema(kind="spans", labels=["PER", "ORG"]))
    assert "label" in describe_difference(xml, changed)


def test_signature_of_garbage_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="not a labeling config"):
        config_signature("<View")
