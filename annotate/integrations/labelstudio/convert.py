"""Our annotation values <-> Label Studio results, for the configs of :mod:`.config`.

Both directions validate: :func:`to_result` sends only a value that :func:`validate_value`
accepts (Label Studio stores unknown labels and control names without a word), and
:func:`from_result` returns a validated value or raises :class:`InvalidInput`.

Label Studio measures ``<Text>`` offsets in UTF-16 code units (JavaScript strings); the
platform stores Python code-point offsets. They differ only after a character outside the
Basic Multilingual Plane (an emoji, say), and the conversion here keeps both exact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from annotate.errors import InvalidInput
from annotate.integrations.labelstudio.config import (
    ANSWER,
    CANDIDATES,
    CHOICE,
    LABEL,
    TEXT,
    TIE_CONTROL,
    is_star_scale,
    option_field,
    rating_controls,
    uses_pairwise,
)
from annotate.kinds.schema import TIE, LabelSchema, validate_value

Result = list[dict[str, Any]]


def _is_bmp(text: str) -> bool:
    return all(ord(ch) < 0x10000 for ch in text)


def to_utf16(text: str, index: int) -> int:
    """The UTF-16 offset of code-point offset ``index`` in ``text``."""
    if _is_bmp(text[:index]):
        return index
    return len(text[:index].encode("utf-16-le")) // 2


def from_utf16(text: str, offset: int) -> int:
    """The code-point offset of UTF-16 offset ``offset`` in ``text``."""
    units = 0
    for index, ch in enumerate(text):
        if units >= offset:
            if units > offset:
                raise InvalidInput(f"offset {offset} falls inside a character of the text")
            return index
        units += 2 if ord(ch) >= 0x10000 else 1
    if units == offset:
        return len(text)
    raise InvalidInput(f"offset {offset} is beyond the end of the text")


def task_data(schema: LabelSchema, item_id: int, external_id: str, text: str,
              data: dict[str, Any], candidates: Sequence[str] = ()) -> dict[str, Any]:
    """The Label Studio task data for an item: every ``$field`` the config reads, plus ids."""
    out: dict[str, Any] = {TEXT: text, "annotate_item_id": item_id,
                           "annotate_external_id": external_id}
    if schema.kind == "choice":
        texts = data.get("options") if isinstance(data.get("options"), dict) else {}
        for index, option in enumerate(schema.options):
            out[option_field(index)] = str((texts or {}).get(option, data.get(option, "")))
    if schema.kind == "text":
        out["candidate_texts"] = list(candidates)
        out[CANDIDATES] = "\n\n".join(f"{i + 1}. {c}" for i, c in enumerate(candidates)) or "-"
    return out


def to_result(schema: LabelSchema, value: Any, text: str) -> Result:
    """Label Studio result items for a value (validated first)."""
    clean = validate_value(schema, value, text)
    return _TO[schema.kind](schema, clean, text)


def _item(from_name: str, kind: str, value: dict[str, Any], to_name: str = TEXT) -> dict[str, Any]:
    return {"from_name": from_name, "to_name": to_name, "type": kind, "value": value}


def _to_classification(_s: LabelSchema, v: dict[str, Any], _t: str) -> Result:
    return [_item(LABEL, "choices", {"choices": [v["label"]]})]


def _to_multilabel(_s: LabelSchema, v: dict[str, Any], _t: str) -> Result:
    return [_item(LABEL, "choices", {"choices": v["labels"]})] if v["labels"] else []


def _to_spans(_s: LabelSchema, v: dict[str, Any], text: str) -> Result:
    out = []
    for index, span in enumerate(v["spans"]):
        item = _item(LABEL, "labels", {
            "start": to_utf16(text, span["start"]), "end": to_utf16(text, span["end"]),
            "text": span["text"], "labels": [span["label"]],
        })
        item["id"] = f"s{index}"
        out.append(item)
    return out


def _to_rating(schema: LabelSchema, v: dict[str, Any], _t: str) -> Result:
    out = []
    for name, feature in rating_controls(schema).items():
        rating = v["ratings"][feature.name]
        if is_star_scale(feature):
            out.append(_item(name, "rating", {"rating": int(rating)}))
        else:
            out.append(_item(name, "choices", {"choices": [str(rating)]}))
    return out


def _to_choice(schema: LabelSchema, v: dict[str, Any], _t: str) -> Result:
    choice = v["choice"]
    if not uses_pairwise(schema):
        return [_item(CHOICE, "choices", {"choices": [choice]})]
    if choice == TIE:
        return [_item(TIE_CONTROL, "choices", {"choices": [TIE]})]
    side = "left" if choice == schema.options[0] else "right"
    # Label Studio's prediction check wants one object tag of the control as to_name.
    return [_item(CHOICE, "pairwise", {"selected": side}, to_name=option_field(0))]


def _to_text(_s: LabelSchema, v: dict[str, Any], _t: str) -> Result:
    return [_item(ANSWER, "textarea", {"text": [v["text"]]})]


class LabelStudioCheck:
    """Label Studio's own check of a prediction against a config (the SDK's LabelInterface).

    The server runs this check on every prediction it stores and drops (bulk import) or
    refuses (ML backend) one that fails, so results are checked here before they are sent.
    """

    def __init__(self, config: str) -> None:
        from label_studio_sdk.label_interface.interface import LabelInterface

        self._interface = LabelInterface(config)

    def errors(self, result: Result) -> list[str]:
        found = self._interface.validate_prediction(  # type: ignore[no-untyped-call]
            {"result": result}, return_errors=True)
        return [str(e) for e in found or []]

    def check(self, result: Result) -> Result:
        errors = self.errors(result)
        if errors:
            raise InvalidInput(f"Label Studio would refuse the result: {errors[0]}")
        return result


_TO: dict[str, Callable[[LabelSchema, dict[str, Any], str], Result]] = {
    "classification": _to_classification,
    "multilabel": _to_multilabel,
    "spans": _to_spans,
    "rating": _to_rating,
    "choice": _to_choice,
    "text": _to_text,
}


def from_result(schema: LabelSchema, result: Result, text: str, *,
                candidates: Sequence[str] = (), started_from: int | None = None) -> dict[str, Any]:
    """Our value for a Label Studio result (validated), or InvalidInput saying what is wrong.

    For text projects ``candidates`` are the Helper's candidate texts and ``started_from``
    the index of the candidate whose prediction the person started from, if any.
    """
    by_control: dict[str, list[dict[str, Any]]] = {}
    for item in result:
        name = str(item.get("from_name", ""))
        by_control.setdefault(name, []).append(item)
    known = _controls(schema)
    unknown = sorted(set(by_control) - set(known))
    if unknown:
        raise InvalidInput(f"result for unknown control(s) {', '.join(unknown)} "
                           f"(the config has {', '.join(sorted(known))})")
    for name, items in by_control.items():
        for item in items:
            if item.get("type") != known[name]:
                raise InvalidInput(f"control {name!r} holds a {item.get('type')!r} result, "
                                   f"expected {known[name]!r}")
    if schema.kind == "text":
        value = _from_text(by_control, candidates, started_from)
    else:
        value = _FROM[schema.kind](schema, by_control, text)
    return validate_value(schema, value, text)


def _controls(schema: LabelSchema) -> dict[str, str]:
    """Control name -> the result type it produces."""
    if schema.kind in ("classification", "multilabel"):
        return {LABEL: "choices"}
    if schema.kind == "spans":
        return {LABEL: "labels"}
    if schema.kind == "rating":
        return {name: "rating" if is_star_scale(f) else "choices"
                for name, f in rating_controls(schema).items()}
    if schema.kind == "choice":
        if uses_pairwise(schema):
            return {CHOICE: "pairwise", TIE_CONTROL: "choices"}
        return {CHOICE: "choices"}
    return {ANSWER: "textarea"}


Controls = dict[str, list[dict[str, Any]]]


def _choices(items: list[dict[str, Any]]) -> list[str]:
    return [str(c) for item in items for c in item.get("value", {}).get("choices", [])]


def _from_classification(_s: LabelSchema, c: Controls, _t: str) -> dict[str, Any]:
    chosen = _choices(c.get(LABEL, []))
    if len(chosen) != 1:
        raise InvalidInput(f"a classification needs exactly one label, got {len(chosen)}")
    return {"label": chosen[0]}


def _from_multilabel(_s: LabelSchema, c: Controls, _t: str) -> dict[str, Any]:
    return {"labels": list(dict.fromkeys(_choices(c.get(LABEL, []))))}


def _from_spans(_s: LabelSchema, c: Controls, text: str) -> dict[str, Any]:
    spans = []
    for item in c.get(LABEL, []):
        value = item.get("value", {})
        try:
            start, end = int(value["start"]), int(value["end"])
        except (KeyError, TypeError, ValueError):
            raise InvalidInput(f"a span result has no start/end: {value!r}") from None
        start, end = from_utf16(text, start), from_utf16(text, end)
        quoted = value.get("text")
        for label in value.get("labels", []):
            spans.append({"start": start, "end": end, "label": str(label),
                          **({"text": quoted} if isinstance(quoted, str) else {})})
    return {"spans": spans}


def _from_rating(schema: LabelSchema, c: Controls, _t: str) -> dict[str, Any]:
    ratings: dict[str, Any] = {}
    for name, feature in rating_controls(schema).items():
        items = c.get(name, [])
        if not items:
            continue
        if is_star_scale(feature):
            ratings[feature.name] = items[-1].get("value", {}).get("rating")
        else:
            chosen = _choices(items)
            if len(chosen) != 1:
                raise InvalidInput(f"feature {feature.name!r} needs one rating, got {len(chosen)}")
            ratings[feature.name] = chosen[0]
    return {"ratings": ratings}


def _from_choice(schema: LabelSchema, c: Controls, _t: str) -> dict[str, Any]:
    if not uses_pairwise(schema):
        chosen = _choices(c.get(CHOICE, []))
        if len(chosen) != 1:
            raise InvalidInput(f"a choice needs exactly one option, got {len(chosen)}")
        return {"choice": chosen[0]}
    sides = [str(i.get("value", {}).get("selected", "")) for i in c.get(CHOICE, [])]
    tie = TIE in _choices(c.get(TIE_CONTROL, []))
    if tie and sides:
        raise InvalidInput("the answer picks a side and a tie at once")
    if tie:
        return {"choice": TIE}
    if len(sides) != 1 or sides[0] not in ("left", "right"):
        raise InvalidInput(f"a pairwise answer needs one side (left or right), got {sides}")
    return {"choice": schema.options[0 if sides[0] == "left" else 1]}


def _from_text(c: Controls, candidates: Sequence[str],
               started_from: int | None) -> dict[str, Any]:
    texts = [str(t) for item in c.get(ANSWER, []) for t in item.get("value", {}).get("text", [])]
    answer = "\n".join(t for t in texts if t.strip())
    if not answer:
        raise InvalidInput("the text answer is empty")
    if answer in candidates:
        return {"text": answer, "candidate": list(candidates).index(answer), "edited": False}
    if started_from is not None:
        return {"text": answer, "candidate": started_from, "edited": True}
    return {"text": answer, "edited": False}


_FROM: dict[str, Callable[[LabelSchema, Controls, str], dict[str, Any]]] = {
    "classification": _from_classification,
    "multilabel": _from_multilabel,
    "spans": _from_spans,
    "rating": _from_rating,
    "choice": _from_choice,
}
