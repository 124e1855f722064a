"""A reloaded workspace (a new browser session of the same person) goes on with the task the
page held: in blind mode the person's committed first answer and the suggestion it unlocked
are back, while another person working at the same time still sees neither."""

from __future__ import annotations

import re

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from annotate.store.models import Task
from tests.ui.conftest import APP, UiDb, button, sign_in, texts


def _open(ui_db: UiDb, who: str) -> AppTest:
    return sign_in(AppTest.from_file(str(APP), default_timeout=60).run(), ui_db, who,
                   "sentiment-blind")


def _item(at: AppTest) -> str:
    found = re.search(r"item `(\w+)`", texts(at))
    assert found, texts(at)
    return found.group(1)


def _leased_to(ui_db: UiDb, who: str) -> list[int]:
    with ui_db.store.session() as session:
        return list(session.scalars(select(Task.id).where(
            Task.lease_owner == who, Task.status == "leased")))


def test_a_reload_goes_on_with_the_committed_blind_answer(ui_db: UiDb) -> None:
    ann, bob = _open(ui_db, "ann"), _open(ui_db, "bob")  # two people at once
    item = _item(ann)
    button(ann, "negative").click().run()  # type: ignore[attr-defined]
    button(ann, "Commit my answer").click().run()  # type: ignore[attr-defined]
    assert "Your first answer: **negative**" in texts(ann)
    held = _leased_to(ui_db, "ann")

    reloaded = _open(ui_db, "ann")  # the same person, a new session: the page reloaded
    shown = texts(reloaded)
    assert _item(reloaded) == item
    assert "Your first answer: **negative**" in shown and "Suggestion" in shown
    assert _leased_to(ui_db, "ann") == held  # no second task taken, none left behind

    bob.run()
    assert "Your first answer" not in texts(bob) and "Suggestion" not in texts(bob)
    assert _leased_to(ui_db, "bob") != held


def test_a_skipped_task_is_not_taken_up_again_by_a_reload(ui_db: UiDb) -> None:
    ann = _open(ui_db, "ann")
    first = _item(ann)
    button(ann, "Skip").click().run()  # type: ignore[attr-defined]
    assert _item(ann) != first
    held = _leased_to(ui_db, "ann")
    reloaded = _open(ui_db, "ann")
    assert _item(reloaded) == _item(ann) and _leased_to(ui_db, "ann") == held
