"""The Pilot page's "Apply this policy" reaches the items already there (streamlit.testing)."""

from __future__ import annotations

from typing import Any

from streamlit.testing.v1 import AppTest

from annotate.projects.catalog import get_project
from annotate.projects.policy import parse_policy
from annotate.queue.reconcile import set_policy
from tests.ui.conftest import UiDb, button, sign_in
from tests.ui.test_pilot_page import PAGE, piloted

__all__ = ["piloted"]  # the fixture, shared with the page's own tests


def _pending_change(ui_db: UiDb, policy: dict[str, Any]) -> str:
    with ui_db.store.session() as session:
        return set_policy(session, get_project(session, "sentiment"), parse_policy(policy),
                          dry_run=True).describe()


def test_applying_the_pilot_policy_reconciles_the_queue(app: AppTest, ui_db: UiDb,
                                                        piloted: dict[str, Any]) -> None:
    policy = piloted["recommendation"]["policy"]
    before = _pending_change(ui_db, policy)
    assert before.startswith("would ") and "human annotator task" in before
    sign_in(app, ui_db, "olga", "sentiment")
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    button(app, "Apply this policy").click().run()  # type: ignore[attr-defined]
    assert not app.exception, app.exception
    assert _pending_change(ui_db, policy) == "no tasks to create or cancel"
