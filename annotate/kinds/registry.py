"""Task kinds are found through the ``annotate.kinds`` entry point group: a new kind is a
module that declares ``[project.entry-points."annotate.kinds"] name = "pkg.mod:KIND"`` (an
object or a zero-argument class), not an edit here. The built-in kinds are also listed below,
so an editable install whose metadata predates a kind still finds it."""

from __future__ import annotations

import functools
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from pydantic import ValidationError

from annotate.errors import InvalidInput, SetupError
from annotate.kinds import choice, classification, multilabel, rating, spans, text
from annotate.kinds.base import TaskKind

GROUP = "annotate.kinds"
BUILTIN: dict[str, TaskKind] = {
    kind.name: kind for kind in (classification.KIND, multilabel.KIND, spans.KIND, rating.KIND,
                                 choice.KIND, text.KIND)
}


@functools.lru_cache(maxsize=1)
def _declared() -> dict[str, EntryPoint]:
    """Kinds declared by entry points (names only: nothing is imported here), without the
    built-ins' own declarations."""
    return {ep.name: ep for ep in entry_points(group=GROUP)
            if not (ep.name in BUILTIN and ep.value == _target(BUILTIN[ep.name]))}


def _target(kind: TaskKind) -> str:
    return f"{type(kind).__module__}:KIND"


@functools.cache
def _load(name: str) -> TaskKind:
    ep = _declared()[name]
    try:
        loaded = ep.load()
        kind: TaskKind = loaded() if isinstance(loaded, type) else loaded
    except Exception as exc:  # a broken plugin: one line naming it, not a traceback
        raise SetupError(f"task kind {name!r} ({ep.value}) cannot be loaded: {exc}") from exc
    return kind


def refresh() -> None:
    """Read the entry points again (a plugin installed into a running process)."""
    _declared.cache_clear()
    _load.cache_clear()


def kind_names() -> tuple[str, ...]:
    """Every kind's name: the built-ins in their documented order, then the plugins'."""
    return (*BUILTIN, *(name for name in _declared() if name not in BUILTIN))


def get_kind(name: str) -> TaskKind:
    """The kind called ``name`` (a plugin's entry point may replace a built-in);
    InvalidInput listing the known kinds otherwise."""
    if name in _declared():
        return _load(name)
    if name in BUILTIN:
        return BUILTIN[name]
    raise InvalidInput(f"unknown task kind {name!r}; choose one of {', '.join(kind_names())}")


def available_kinds() -> dict[str, TaskKind]:
    """Kind name -> kind, every plugin loaded."""
    return {name: get_kind(name) for name in kind_names()}


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
