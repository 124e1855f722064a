"""Label Studio labeling configs (XML) generated from a project's :class:`LabelSchema`.

Each task kind lays out its own controls (its ``labelstudio`` part,
:class:`annotate.kinds.base.LabelStudioForm`), with fixed control names so results convert
back; the built-in layouts are described in the kind modules (:mod:`annotate.kinds`).

:func:`config_signature` reduces a config to its controls, so a Label Studio project edited
by hand can be told apart from the one the schema generates.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from annotate.errors import InvalidInput
from annotate.io.labelstudio_results import TEXT, form_of
from annotate.kinds.choice import CHOICE, TIE_CONTROL, option_field, uses_pairwise
from annotate.kinds.rating import is_star_scale, rating_controls
from annotate.kinds.schema import LabelSchema
from annotate.kinds.text import ANSWER, CANDIDATES

__all__ = ["ANSWER", "CANDIDATES", "CHOICE", "CONTROL_TAGS", "LABEL", "TEXT", "TIE_CONTROL",
           "Control", "config_signature", "describe_difference", "form_of", "is_star_scale",
           "labeling_config", "option_field", "rating_controls", "uses_pairwise"]

LABEL = "label"
CONTROL_TAGS = ("choices", "labels", "rating", "pairwise", "textarea")


def labeling_config(schema: LabelSchema) -> str:
    """The Label Studio labeling config (XML) for ``schema``."""
    view = ET.Element("View")
    form_of(schema).build_config(view, schema)
    ET.indent(view, space="  ")
    return ET.tostring(view, encoding="unicode") + "\n"


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
