"""The plugin kind ``ranking`` in the workspace (streamlit.testing AppTest, in process): it
brings no widget, so a person answers it as JSON; the answer is validated by the kind and
saved like any other. Registered as an entry point of the ``annotate.kinds`` group."""

from __future__ import annotations

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from annotate.kinds.schema import LabelSchema
from annotate.projects.catalog import create_project
from annotate.projects.policy import RoutingPolicy
from annotate.services.people import grant
from annotate.store.models import Annotation
from tests.kinds.conftest import Register
from tests.ui.conftest import UiDb, app, button, choose_project, sign_in, texts, ui_db
from tests.ui.seed import _items

__all__ = ["app", "ui_db"]  # the UI fixtures, used here too

HUMAN_ONLY = RoutingPolicy(human_annotations=1, llm_annotations=0)


def test_a_plugin_kind_is_answered_in_the_workspace(app: AppTest, ui_db: UiDb,
                                                    register_kind: Register) -> None:
    register_kind("ranking", "tests.plugins.ranking_kind:KIND")
    with ui_db.store.session() as session:
        pid = create_project(session, "rank", LabelSchema(kind="ranking", options=["a", "b", "c"],
                                                          allow_tie=False),
                             policy=HUMAN_ONLY).id
        grant(session, "ann", "rank")
    ui_db.seeded.projects["rank"] = pid
    _items(ui_db.store, pid, ["Which phone first?"], HUMAN_ONLY)
    sign_in(app, ui_db, "ann")
    app.run()
    choose_project(app, ui_db, "rank")
    assert "Order all the options from best to worst." in texts(app)  # the default guideline
    app.text_area[0].input('{"ranking": ["b", "a", "b"]}').run()
    button(app, "Submit").click().run()  # type: ignore[attr-defined]
    assert "orders each of a, b, c once" in texts(app)
    app.text_area[0].input('{"ranking": ["b", "a", "c"]}').run()
    button(app, "Submit").click().run()  # type: ignore[attr-defined]
    with ui_db.store.session() as session:
        saved = session.scalars(select(Annotation.value)
                                .where(Annotation.annotator_id == "ann")).one()
    assert saved == {"ranking": ["b", "a", "c"]}
