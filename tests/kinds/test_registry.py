"""The kind registry: built-ins, entry points, and what the schema accepts."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from annotate.errors import InvalidInput, SetupError
from annotate.kinds import schema
from annotate.kinds.base import TaskKind
from annotate.kinds.classification import Classification
from annotate.kinds.registry import BUILTIN, available_kinds, get_kind, kind_names
from annotate.kinds.schema import LabelSchema, parse_schema
from tests.kinds.conftest import Register

BUILTIN_ORDER = ("classification", "multilabel", "spans", "rating", "choice", "text")


class Shouting(Classification):
    """A kind for the test: classification whose label is shown in capitals."""

    name = "shouting"

    def show(self, value: dict[str, Any]) -> str:
        return str(value["label"]).upper()


def test_the_builtin_kinds_in_their_documented_order() -> None:
    assert kind_names() == BUILTIN_ORDER
    assert schema.TASK_KINDS == BUILTIN_ORDER
    for name in BUILTIN_ORDER:
        kind: TaskKind = get_kind(name)
        assert kind.name == name


def test_an_unknown_kind_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInput) as caught:
        get_kind("ranking")
    assert str(caught.value) == ("unknown task kind 'ranking'; choose one of classification, "
                                 "multilabel, spans, rating, choice, text")
    with pytest.raises(InvalidInput) as caught:
        parse_schema({"kind": "ranking", "labels": ["a"]}, source="s.json")
    assert str(caught.value).startswith("s.json: kind: unknown task kind 'ranking'")


def test_pyproject_declares_every_builtin_as_an_entry_point() -> None:
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    declared = pyproject["project"]["entry-points"]["annotate.kinds"]
    assert declared == {name: f"annotate.kinds.{name}:KIND" for name in BUILTIN_ORDER}
    assert set(BUILTIN) == set(declared)


def test_a_kind_from_an_entry_point_is_usable_everywhere(register_kind: Register) -> None:
    register_kind("shouting", "tests.kinds.test_registry:Shouting")  # a class: instantiated
    assert kind_names() == (*BUILTIN_ORDER, "shouting")
    assert schema.TASK_KINDS[-1] == "shouting"
    loud = LabelSchema(kind="shouting", labels=["yes", "no"])
    assert schema.validate_value(loud, {"label": "yes"}) == {"label": "yes"}
    assert get_kind("shouting").show({"label": "yes"}) == "YES"
    assert LabelSchema.default("shouting", ["a"]).labels == ["a"]


def test_an_entry_point_may_replace_a_builtin(register_kind: Register) -> None:
    register_kind("classification", "tests.kinds.test_registry:Shouting")
    assert isinstance(available_kinds()["classification"], Shouting)
    assert kind_names() == BUILTIN_ORDER  # same name, same place


def test_a_broken_plugin_is_named_and_breaks_only_its_own_kind(register_kind: Register) -> None:
    register_kind("broken", "tests.kinds.no_such_module:KIND")
    assert kind_names() == (*BUILTIN_ORDER, "broken")  # names come without importing
    assert get_kind("classification").name == "classification"
    with pytest.raises(SetupError) as caught:
        get_kind("broken")
    assert str(caught.value).startswith(
        "task kind 'broken' (tests.kinds.no_such_module:KIND) cannot be loaded: ")
