"""The setup page's policy form: every enumerated policy field (a Literal or an Enum) is a
choice of its allowed values, each with its one-line meaning, and saving a choice stores it."""

from __future__ import annotations

from enum import Enum
from typing import Literal

import pytest
from streamlit.testing.v1 import AppTest

from annotate.projects.policy import AGGREGATION_CHOICES, ESTIMATOR_CHOICES, RoutingPolicy
from annotate.store.models import Project
from tests.ui.conftest import UiDb, button, sign_in
from ui.views.setup import allowed_values


def _policy_form(app: AppTest, ui_db: UiDb) -> AppTest:
    sign_in(app, ui_db, "olga", "sentiment")
    app.switch_page("views/setup.py").run()
    assert not app.exception, app.exception
    return app


def test_every_enumerated_policy_field_is_a_choice_of_its_values(app: AppTest,
                                                                 ui_db: UiDb) -> None:
    _policy_form(app, ui_db)
    enumerated = {name: allowed_values(info.annotation)
                  for name, info in RoutingPolicy.model_fields.items()
                  if allowed_values(info.annotation) is not None}
    assert set(enumerated) >= {"aggregation", "confidence"}
    for name, values in enumerated.items():
        radio = app.radio(key=f"pol:{name}")
        assert radio.options == [str(v) for v in values], name
        assert all(radio.proto.captions), f"{name}: each value needs its meaning"
    assert not [t for t in app.text_input if t.key in ("pol:aggregation", "pol:confidence")]
    aggregation = app.radio(key="pol:aggregation")
    assert aggregation.value == "majority"
    assert list(aggregation.proto.captions) == list(AGGREGATION_CHOICES.values())
    assert list(app.radio(key="pol:confidence").proto.captions) == list(
        ESTIMATOR_CHOICES.values())


def test_saving_a_choice_stores_it(app: AppTest, ui_db: UiDb) -> None:
    _policy_form(app, ui_db)
    app.radio(key="pol:aggregation").set_value("dawid_skene")
    app.radio(key="pol:confidence").set_value("consistency")
    button(app, "Save policy").click().run()  # type: ignore[attr-defined]
    assert not app.exception and not app.error, [e.value for e in app.error]
    with ui_db.store.session() as session:
        stored = session.get_one(Project, ui_db.seeded.projects["sentiment"]).policy_json
    assert (stored["aggregation"], stored["confidence"]) == ("dawid_skene", "consistency")
    app.run()
    assert app.radio(key="pol:aggregation").value == "dawid_skene"  # read back from the store


class _Colour(Enum):
    RED = "red"
    BLUE = "blue"


@pytest.mark.parametrize(("annotation", "values"), [
    (Literal["a", "b"], ["a", "b"]),
    (Literal["a", "b"] | None, ["a", "b", None]),
    (_Colour, [_Colour.RED, _Colour.BLUE]),
    (str, None), (bool, None), (bool | None, None), (float | None, None),
    (dict[str, Literal["a"]], None),
])
def test_allowed_values_of_a_field_type(annotation: object, values: object) -> None:
    assert allowed_values(annotation) == values


@pytest.mark.parametrize(("key", "bad", "said"), [
    ("pol:cascade", "[{", "cascade: Input should be a valid list"),
    ("pol:rate_limits", '{"a": 5}', "rate_limits.a: Input should be a valid dictionary"),
    ("pol:human_below_confidence", "nan", "human_below_confidence: Input should be a finite"),
    ("pol:moderator_model", "a\nb", "moderator_model: must be a model name"),
])
def test_a_bad_setting_is_refused_in_one_line_naming_it(app: AppTest, ui_db: UiDb, key: str,
                                                        bad: str, said: str) -> None:
    _policy_form(app, ui_db)
    app.text_input(key=key).input(bad)
    button(app, "Save policy").click().run()  # type: ignore[attr-defined]
    assert not app.exception
    [error] = [e.value for e in app.error]
    assert error.startswith(f"Not saved: {said}") and "\n" not in error, error
    assert "pydantic" not in error and "RoutingPolicy" not in error
    with ui_db.store.session() as session:
        stored = session.get_one(Project, ui_db.seeded.projects["sentiment"]).policy_json
    assert stored.get("moderator_model") is None and not stored.get("cascade")
