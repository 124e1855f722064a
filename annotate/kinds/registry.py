"""Task kinds are found through the ``annotate.kinds`` entry point group: a new kind is a
module that declares ``[project.entry-points."annotate.kinds"] name = "pkg.mod:KIND"`` (an
object or a zero-argument class), not an edit here. The built-in kinds are also listed below,
so an editable install whose metadata predates a kind still finds it."""

from __future__ import annotations

import functools
from importlib.metadata import entry_points
from typing import Any

from pydantic import ValidationError

from annotate.errors import InvalidInput
from annotate.kinds import choice, classification, multilabel, rating, spans, text
from annotate.kinds.base import TaskKind

GROUP = "annotate.kinds"
BUILTIN: dict[str, TaskKind] = {
    kind.name: kind for kind in (classification.KIND, multilabel.KIND, spans.KIND, rating.KIND,
                                 choice.KIND, text.KIND)
}


@functools.lru_cache(maxsize=1)
def available_kinds() -> dict[str, TaskKind]:
    """Kind name -> kind, built-ins first (in their documented order), then entry points;
    an entry point named like a built-in replaces it."""
    found = dict(BUILTIN)
    for ep in entry_points(group=GROUP):
        if ep.name in BUILTIN and ep.value == _target(BUILTIN[ep.name]):
            continue  # the built-in's own declaration: nothing to load
        loaded = ep.load()
        found[ep.name] = loaded() if isinstance(loaded, type) else loaded
    return found


def _target(kind: TaskKind) -> str:
    return f"{type(kind).__module__}:KIND"


def kind_names() -> tuple[str, ...]:
    return tuple(available_kinds())


def get_kind(name: str) -> TaskKind:
    """The kind called ``name``; InvalidInput listing the known kinds otherwise."""
    kind = available_kinds().get(name)
    if kind is None:
        raise InvalidInput(f"unknown task kind {name!r}; choose one of "
                           f"{', '.join(available_kinds())}")
    return kind


def label_of(kind: str, value: Any, feature: str | None = None) -> str | None:
    """The kind's one comparable label of an answer (per ``feature`` for kinds with features);
    None for no answer, a moderator's "none of them", or a kind without labels."""
    if not isinstance(value, dict) or not value or value.get("decision") == "none":
        return None
    return get_kind(kind).label(value, feature)


def kind_of_value(value: Any) -> str | None:
    """The first registered kind whose value model accepts ``value`` (the models refuse
    unknown keys, so a value's shape names its kind); None when none does."""
    for name, kind in available_kinds().items():
        try:
            kind.value_model.model_validate(value)
        except ValidationError:
            continue
        return name
    return None
