"""Label Studio labeling configs (XML) generated from a project's :class:`LabelSchema`.

One layout per task kind; every control has a fixed name so results convert back:

- ``classification`` / ``multilabel``: ``<Choices name="label">`` (single / multiple).
- ``spans``: ``<Labels name="label">`` over ``<Text name="text">``.
- ``rating``: per feature a ``<Rating name="rating_<feature>">`` when its scale is 1..N,
  otherwise ``<Choices name="rating_<feature>">`` with the scale's values.
- ``choice``: two options: ``<Pairwise name="choice">`` (left = first option) plus a
  ``<Choices name="tie">`` check box when ties are allowed; more options:
  ``<Choices name="choice">``.
  The options' texts come from the task data fields ``option_0``, ``option_1``...
- ``text``: the Helper's candidates listed in ``<Text name="candidates">`` and a
  ``<TextArea name="answer">`` that Label Studio pre-fills from the pushed candidate predictions.

:func:`config_signature` reduces a config to its controls, so a Label Studio project edited
by hand can be told apart from the one the schema generates.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from annotate.errors import InvalidInput
from annotate.kinds.schema import TIE, LabelSchema, RatingFeature

TEXT = "text"
LABEL = "label"
CHOICE = "choice"
TIE_CONTROL = "tie"
ANSWER = "answer"
CANDIDATES = "candidates"
CONTROL_TAGS = ("choices", "labels", "rating", "pairwise", "textarea")


def option_field(index: int) -> str:
    """The task data field (and Text object name) holding the text of option ``index``."""
    return f"option_{index}"


def uses_pairwise(schema: LabelSchema) -> bool:
    return schema.kind == "choice" and len(schema.options) == 2


def rating_controls(schema: LabelSchema) -> dict[str, RatingFeature]:
    """Control name -> feature, one per rating feature (names made XML- and LS-safe)."""
    out: dict[str, RatingFeature] = {}
    for index, feature in enumerate(schema.features):
        name = "rating_" + re.sub(r"[^0-9A-Za-z_-]", "_", feature.name)
        if name in out:
            name = f"{name}_{index}"
        out[name] = feature
    return out


def is_star_scale(feature: RatingFeature) -> bool:
    """A scale Label Studio's ``<Rating>`` can show: the integers 1..N."""
    return feature.scale == list(range(1, len(feature.scale) + 1))


def labeling_config(schema: LabelSchema) -> str:
    """The Label Studio labeling config (XML) for ``schema``."""
    view = ET.Element("View")
    _BUILDERS[schema.kind](view, schema)
    ET.indent(view, space="  ")
    return ET.tostring(view, encoding="unicode") + "\n"


def _sub(parent: ET.Element, tag: str, **attrs: str) -> ET.Element:
    return ET.SubElement(parent, tag, attrs)


def _text(view: ET.Element) -> None:
    _sub(view, "Text", name=TEXT, value="$" + TEXT)


def _choices(view: ET.Element, name: str, values: list[str], *, multiple: bool = False,
             required: bool = True) -> None:
    attrs = {"name": name, "toName": TEXT, "choice": "multiple" if multiple else "single"}
    if required:
        attrs["required"] = "true"
    choices = _sub(view, "Choices", **attrs)
    for value in values:
        _sub(choices, "Choice", value=value)


def _build_classification(view: ET.Element, schema: LabelSchema) -> None:
    _text(view)
    _choices(view, LABEL, schema.labels)


def _build_multilabel(view: ET.Element, schema: LabelSchema) -> None:
    _text(view)
    _choices(view, LABEL, schema.labels, multiple=True, required=False)


def _build_spans(view: ET.Element, schema: LabelSchema) -> None:
    labels = _sub(view, "Labels", name=LABEL, toName=TEXT)
    for label in schema.labels:
        _sub(labels, "Label", value=label)
    _text(view)


def _build_rating(view: ET.Element, schema: LabelSchema) -> None:
    _text(view)
    for name, feature in rating_controls(schema).items():
        box = _sub(view, "View")
        _sub(box, "Header", value=feature.name, size="5")
        if feature.description:
            _sub(box, "Header", value=feature.description, size="6")
        if is_star_scale(feature):
            _sub(box, "Rating", name=name, toName=TEXT, maxRating=str(len(feature.scale)),
                 required="true")
        else:
            _choices(box, name, [str(s) for s in feature.scale])


def _build_choice(view: ET.Element, schema: LabelSchema) -> None:
    _text(view)
    fields = [option_field(i) for i in range(len(schema.options))]
    for option, field in zip(schema.options, fields, strict=True):
        _sub(view, "Header", value=option, size="5")
        _sub(view, "Text", name=field, value="$" + field)
    if uses_pairwise(schema):
        _sub(view, "Pairwise", name=CHOICE, toName=",".join(fields))
        if schema.allow_tie:
            _choices(view, TIE_CONTROL, [TIE], required=False)
    else:
        _choices(view, CHOICE, schema.choices())


def _build_text(view: ET.Element, schema: LabelSchema) -> None:
    _text(view)
    _sub(view, "Header", value="Candidates", size="5")
    _sub(view, "Text", name=CANDIDATES, value="$" + CANDIDATES)
    _sub(view, "TextArea", name=ANSWER, toName=TEXT, rows="4", editable="true",
         maxSubmissions="1", required="true")


_BUILDERS = {
    "classification": _build_classification,
    "multilabel": _build_multilabel,
    "spans": _build_spans,
    "rating": _build_rating,
    "choice": _build_choice,
    "text": _build_text,
}


@dataclass(frozen=True)
class Control:
    """What a control tag collects: enough to compare two configs."""

    tag: str
    name: str
    to_name: str
    values: tuple[str, ...] = ()
    choice: str = ""
    max_rating: str = ""


def config_signature(xml: str) -> frozenset[Control]:
    """The controls of a labeling config, ignoring layout, headers and whitespace."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise InvalidInput(f"not a labeling config: {exc}") from None
    controls = set()
    for element in root.iter():
        tag = element.tag.lower()
        if tag not in CONTROL_TAGS:
            continue
        values = tuple(child.get("value", "") for child in element
                       if child.tag.lower() in ("choice", "label"))
        controls.add(Control(
            tag=tag,
            name=element.get("name", ""),
            to_name=element.get("toName", ""),
            values=values,
            choice=element.get("choice", "single") if tag == "choices" else "",
            max_rating=element.get("maxRating", "") if tag == "rating" else "",
        ))
    return frozenset(controls)


def describe_difference(expected: str, actual: str) -> str:
    """A short phrase naming the controls that differ between two configs ("" if none)."""
    want, got = config_signature(expected), config_signature(actual)
    if want == got:
        return ""
    missing = sorted(c.name for c in want - got)
    extra = sorted(c.name for c in got - want)
    parts = []
    if missing:
        parts.append(f"expected control(s) {', '.join(missing)} differ or are missing")
    if extra:
        parts.append(f"unexpected control(s) {', '.join(extra)}")
    return "; ".join(parts)
