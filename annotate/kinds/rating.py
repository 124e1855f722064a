"""``rating``: each feature of the schema on its own ordinal scale,
``{"ratings": {"fluency": 4, "relevance": 2}}``."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from annotate.errors import InvalidInput
from annotate.kinds.base import (
    LSControls,
    LSResult,
    SetupForm,
    Strict,
    WidgetState,
    json_cell,
    ls_choices,
    ls_chosen,
    ls_item,
    ls_sub,
    ls_text,
    plain_markdown,
    stripped,
)

if TYPE_CHECKING:
    from annotate.kinds.schema import LabelSchema, RatingFeature


class RatingValue(Strict):
    ratings: dict[str, int | str]


def rating_controls(schema: LabelSchema) -> dict[str, RatingFeature]:
    """Label Studio control name -> feature, one per feature (names made XML- and LS-safe)."""
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


class RatingStudio:
    """Per feature a ``<Rating name="rating_<feature>">`` when its scale is 1..N, otherwise
    ``<Choices name="rating_<feature>">`` with the scale's values."""

    def build_config(self, view: ET.Element, schema: LabelSchema) -> None:
        ls_text(view)
        for name, feature in rating_controls(schema).items():
            box = ls_sub(view, "View")
            ls_sub(box, "Header", value=feature.name, size="5")
            if feature.description:
                ls_sub(box, "Header", value=feature.description, size="6")
            if is_star_scale(feature):
                ls_sub(box, "Rating", name=name, toName="text",
                       maxRating=str(len(feature.scale)), required="true")
            else:
                ls_choices(box, name, [str(s) for s in feature.scale])

    def controls(self, schema: LabelSchema) -> dict[str, str]:
        return {name: "rating" if is_star_scale(f) else "choices"
                for name, f in rating_controls(schema).items()}

    def task_data(self, schema: LabelSchema, data: dict[str, Any],
                  candidates: Sequence[str]) -> dict[str, Any]:
        return {}

    def to_result(self, schema: LabelSchema, value: dict[str, Any], text: str) -> LSResult:
        out = []
        for name, feature in rating_controls(schema).items():
            rating = value["ratings"][feature.name]
            if is_star_scale(feature):
                out.append(ls_item(name, "rating", {"rating": int(rating)}))
            else:
                out.append(ls_item(name, "choices", {"choices": [str(rating)]}))
        return out

    def from_result(self, schema: LabelSchema, controls: LSControls, text: str,
                    candidates: Sequence[str], started_from: int | None) -> dict[str, Any]:
        ratings: dict[str, Any] = {}
        for name, feature in rating_controls(schema).items():
            items = controls.get(name, [])
            if not items:
                continue
            if is_star_scale(feature):
                ratings[feature.name] = items[-1].get("value", {}).get("rating")
            else:
                chosen = ls_chosen(items)
                if len(chosen) != 1:
                    raise InvalidInput(f"feature {feature.name!r} needs one rating, "
                                       f"got {len(chosen)}")
                ratings[feature.name] = chosen[0]
        return {"ratings": ratings}


class RatingControls:
    """A row of buttons per feature, on that feature's scale, one feature at a time by keys:
    the active feature (the first without a point, or the one moved to) takes 1-9, Left and
    Right move its point, Up and Down move to another feature; a point chosen by key moves on
    to the next feature. Clicks work on every feature at any time."""

    keys = (("1-9", "point on the active feature (then the next feature)"),
            ("← →", "lower / higher point"), ("↑ ↓", "previous / next feature"))

    def seed(self, form: Any, state: WidgetState, value: dict[str, Any]) -> None:
        for name, point in (value.get("ratings") or {}).items():
            state.set(f"r:{name}", _on_scale(form.schema, name, point))

    def value(self, form: Any, state: WidgetState) -> dict[str, Any] | None:
        ratings = {f.name: state.get(f"r:{f.name}") for f in form.schema.features}
        return {"ratings": ratings} if all(v is not None for v in ratings.values()) else None

    def render(self, form: Any, state: WidgetState) -> None:
        import streamlit as st

        features = form.schema.features
        active = _active(form, state)
        for n, feature in enumerate(features):
            chosen = state.get(f"r:{feature.name}")
            keyed = form.shortcuts and n == active
            with st.container(horizontal=True, vertical_alignment="center"):
                marker = "▸ " if keyed else ""
                st.markdown(f"{marker}**{plain_markdown(feature.name)}**",
                            help=feature.description or None)
                for i, point in enumerate(feature.scale):
                    st.button(str(point), key=state.key(f"rb:{feature.name}:{i}"),
                              type="primary" if chosen == point else "secondary",
                              shortcut=str(i + 1) if keyed and i < 9 else None,
                              on_click=_choose, args=(form, state, n, i, keyed))
        if form.shortcuts and len(features) > 0:
            with st.container(horizontal=True):
                for name, key, step in (("Lower point", "Left", -1), ("Higher point", "Right", 1)):
                    st.button(name, key=state.key(f"rstep:{key}"), shortcut=key,
                              type="tertiary", on_click=_step, args=(form, state, step))
                for name, key, step in (("Previous feature", "Up", -1),
                                        ("Next feature", "Down", 1)):
                    st.button(name, key=state.key(f"rmove:{key}"), shortcut=key,
                              type="tertiary", on_click=_move, args=(form, state, step))


def _active(form: Any, state: WidgetState) -> int:
    """The feature keys act on: the one moved to, else the first without a point."""
    features = form.schema.features
    moved = state.get("r:active")
    if isinstance(moved, int) and 0 <= moved < len(features):
        return moved
    return next((n for n, f in enumerate(features) if state.get(f"r:{f.name}") is None), 0)


def _choose(form: Any, state: WidgetState, n: int, i: int, by_key: bool) -> None:
    feature = form.schema.features[n]
    state.set(f"r:{feature.name}", feature.scale[i])
    if by_key:  # typed: on to the next feature without a point (or the next one)
        rest = [m for m, f in enumerate(form.schema.features)
                if m > n and state.get(f"r:{f.name}") is None]
        state.set("r:active", rest[0] if rest else min(n + 1, len(form.schema.features) - 1))


def _step(form: Any, state: WidgetState, step: int) -> None:
    active = _active(form, state)
    state.set("r:active", active)  # the arrows stay on this feature until Up/Down
    feature = form.schema.features[active]
    scale = list(feature.scale)
    now = state.get(f"r:{feature.name}")
    at = scale.index(now) if now in scale else (-1 if step > 0 else len(scale))
    state.set(f"r:{feature.name}", scale[min(max(at + step, 0), len(scale) - 1)])


def _move(form: Any, state: WidgetState, step: int) -> None:
    count = len(form.schema.features)
    state.set("r:active", min(max(_active(form, state) + step, 0), count - 1))


def _on_scale(schema: LabelSchema, name: str, point: Any) -> Any:
    feature = next((f for f in schema.features if f.name == name), None)
    if feature is None:
        return point
    return next((s for s in feature.scale if str(s) == str(point)), point)


class Rating:
    name = "rating"
    value_model = RatingValue
    instruction = "Rate the item on each feature, on that feature's scale."
    guideline_task = "Rate the text on each feature, on that feature's scale."
    max_tokens = 300
    agreement = "ratings"
    labelstudio = RatingStudio()
    candidates = None
    widget = RatingControls()
    setup_form = SetupForm(labels="Features to rate", scale=True)

    def check_schema(self, schema: LabelSchema) -> None:
        if not schema.features:
            raise ValueError("a rating schema needs at least one feature")

    def default_schema(self, labels: list[str]) -> dict[str, Any]:
        return {"kind": self.name, "features": [{"name": n, "scale": [1, 2, 3, 4, 5]}
                                                for n in labels or ["quality"]]}

    def schema_from_setup(self, names: list[str], scale: list[str],
                          allow_tie: bool) -> dict[str, Any]:
        """Each name a feature, all rated on the form's scale (integers where they read so)."""
        points: list[int | str] = [int(s) if s.lstrip("-").isdigit() else s for s in scale]
        if len(points) < 2:
            raise InvalidInput("a rating scale needs at least two points, e.g. 1,2,3,4,5")
        return {"kind": self.name, "features": [{"name": n, "scale": points}
                                                for n in names or ["quality"]]}

    def check_value(self, schema: LabelSchema, value: Any, text: str) -> dict[str, Any]:
        features = {f.name: f for f in schema.features}
        unknown = set(value.ratings) - set(features)
        if unknown:
            raise InvalidInput(f"unknown rating feature(s): {', '.join(sorted(unknown))}")
        missing = set(features) - set(value.ratings)
        if missing:
            raise InvalidInput(f"missing rating for feature(s): {', '.join(sorted(missing))}")
        out: dict[str, int | str] = {}
        for name, feature in features.items():
            raw = value.ratings[name]
            match = [s for s in feature.scale if s == raw or str(s) == str(raw)]
            if not match:
                raise InvalidInput(f"rating {raw!r} for {name!r} is not on its scale "
                                   f"{feature.scale}")
            out[name] = match[0]
        return {"ratings": out}

    def output_schema(self, schema: LabelSchema) -> dict[str, Any]:
        features = {f.name: {"enum": list(f.scale)} for f in schema.features}
        return {"ratings": {"type": "object", "additionalProperties": False,
                            "required": list(features), "properties": features}}

    def parse_output(self, schema: LabelSchema, data: dict[str, Any], text: str) -> Any:
        return {"ratings": data.get("ratings")}

    def example_value(self, label: str) -> dict[str, Any] | None:
        return None

    def value_from_label(self, schema: LabelSchema, cell: Any) -> Any:
        """A cell holds a JSON object of feature -> point; with one feature it may be a bare
        point."""
        if isinstance(cell, str) and cell.lstrip().startswith("{"):
            cell = json_cell(cell)
        if isinstance(cell, dict):
            return {"ratings": cell}
        if len(schema.features) == 1:
            return {"ratings": {schema.features[0].name: stripped(cell)}}
        names = ", ".join(f.name for f in schema.features)
        raise ValueError(f"a bare rating {cell!r} is ambiguous: give a JSON object for {names}")

    def label(self, value: dict[str, Any], feature: str | None = None) -> str | None:
        """The point given to ``feature`` (a rating has no label without one)."""
        raw = (value.get("ratings") or {}).get(feature) if feature else None
        return None if raw is None else str(raw)

    def comparable(self, value: dict[str, Any]) -> Any:
        return tuple(sorted((k, str(v)) for k, v in value["ratings"].items()))

    def show(self, value: dict[str, Any]) -> str:
        return ", ".join(f"{k}={x}" for k, x in (value.get("ratings") or {}).items())


KIND = Rating()
