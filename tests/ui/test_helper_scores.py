"""The workspace shows each Helper candidate with its score, best first, what the score is
made of on hover, and "None fits — write my own" always (#19 item 2)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from annotate.kinds.schema import LabelSchema
from annotate.store.models import Suggestion
from tests.ui.conftest import UiDb, button
from tests.ui.test_kinds import _open, _project, _saved

STORED = [  # as the Helper stores them: best first, with an id and the score's parts
    {"id": "c0", "index": 0, "text": "The courier came late.", "score": 0.83,
     "value": {"text": "The courier came late.", "candidate": 0},
     "scores": {"meaning": 0.91, "meaning_measure": "embedding", "fluency": -0.42,
                "length_ratio": 0.5}},
    {"id": "c1", "index": 1, "text": "A parcel arrived.", "score": 0.41,
     "value": {"text": "A parcel arrived.", "candidate": 1},
     "scores": {"meaning": 0.38, "meaning_measure": "embedding", "fluency": None,
                "length_ratio": 0.3}},
]


def _candidate_buttons(app: AppTest) -> list[object]:
    return [b for b in app.button if "score" in b.label]


def test_candidates_show_their_scores_best_first(app: AppTest, ui_db: UiDb) -> None:
    [item_id] = _project(ui_db, "paraphrase", LabelSchema(kind="text"),
                         ["The delivery guy showed up way after the slot."])
    with ui_db.store.session() as session:
        session.add(Suggestion(project_id=ui_db.seeded.projects["paraphrase"], item_id=item_id,
                               model="local/smollm2", candidates=STORED,
                               stats={"asked": 3, "found": 2, "dropped": {"copy_of_source": 1}}))
    _open(app, ui_db, "paraphrase")
    shown = _candidate_buttons(app)
    assert [b.label.replace("\\", "") for b in shown] == [  # type: ignore[attr-defined]
        "The courier came late.  ·  score 0.83", "A parcel arrived.  ·  score 0.41"]
    helps = [b.proto.help for b in shown]  # type: ignore[attr-defined]
    assert "meaning kept 0.91 (embedding)" in helps[0] and "fluency -0.42" in helps[0]
    assert "length 0.5x" in helps[0] and "fluency" not in helps[1]
    button(app, "None fits — write my own")
    button(app, "The courier came late.  ·  score 0.83").click().run()  # type: ignore[attr-defined]
    button(app, "Submit").click().run()  # type: ignore[attr-defined]
    assert _saved(ui_db) == {"text": "The courier came late.", "candidate": 0, "edited": False}


def test_no_candidate_left_still_offers_write_my_own(app: AppTest, ui_db: UiDb) -> None:
    [item_id] = _project(ui_db, "paraphrase", LabelSchema(kind="text"), ["Late again."])
    with ui_db.store.session() as session:  # every candidate was a copy of the item
        session.add(Suggestion(project_id=ui_db.seeded.projects["paraphrase"], item_id=item_id,
                               candidates=[], stats={"asked": 3, "found": 0,
                                                     "dropped": {"copy_of_source": 3}}))
    _open(app, ui_db, "paraphrase")
    assert _candidate_buttons(app) == []
    button(app, "None fits — write my own").click().run()  # type: ignore[attr-defined]
    app.text_area[0].input("Delayed once more.").run()
    button(app, "Submit").click().run()  # type: ignore[attr-defined]
    assert _saved(ui_db) == {"text": "Delayed once more.", "edited": False}
