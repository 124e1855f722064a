"""What people chose among the Helper's candidates (#19 item 3) through the pages: a person
takes one candidate as it is, edits one, and writes their own; each stored answer carries its
trace, the export carries the candidates with their scores and the choice, and the owner's
dashboard shows the shares and seconds."""

from __future__ import annotations

import io
import json
from typing import Any

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from annotate.io.exporting import export_project
from annotate.kinds.schema import LabelSchema
from annotate.store.models import Annotation, Suggestion
from tests.ui.conftest import APP, UiDb, button, sign_in
from tests.ui.test_kinds import _open, _project

SOURCES = ["The delivery guy showed up way after the slot.", "Nobody picks up the phone.",
           "It broke on day one."]
CANDIDATES = [["The courier was late.", "The parcel came."],
              ["No one answers the phone.", "The phone is off."],
              ["It is fine.", "It works well."]]


def _seed(ui_db: UiDb) -> None:
    items = _project(ui_db, "paraphrase", LabelSchema(kind="text"), SOURCES)
    with ui_db.store.session() as session:
        for item_id, texts in zip(items, CANDIDATES, strict=True):
            session.add(Suggestion(
                project_id=ui_db.seeded.projects["paraphrase"], item_id=item_id,
                model="local/smollm2", candidates=[
                    {"value": {"text": t, "candidate": i}, "text": t, "score": 0.9 - i / 2,
                     "id": f"c{i}", "index": i} for i, t in enumerate(texts)]))


def _on_screen(app: AppTest) -> int:
    return SOURCES.index(app.session_state["work"].view.text)


def _answer(app: AppTest, how: str) -> None:
    """Choose as is (the top candidate), choose the second and edit it, or write one's own,
    whichever item is on screen."""
    texts = CANDIDATES[_on_screen(app)]
    if how == "own":
        button(app, "None fits — write my own").click().run()  # type: ignore[attr-defined]
        app.text_area[0].input("In my own words.").run()
    else:
        pick = 0 if how == "chose" else 1
        score = 0.9 - pick / 2
        button(app, f"{texts[pick]}  ·  score {score:.2f}").click().run()  # type: ignore[attr-defined]
        if how == "edited":
            app.text_area[0].input(texts[pick].rstrip(".") + " today.").run()
    button(app, "Submit").click().run()  # type: ignore[attr-defined]
    assert not app.exception, app.exception


def _traces(ui_db: UiDb) -> dict[str, dict[str, Any]]:
    with ui_db.store.session() as session:
        rows = session.execute(select(Annotation.value, Annotation.meta)
                               .where(Annotation.annotator_id == "ann"))
        return {value["text"]: meta["choice"] for value, meta in rows}


def test_choose_edit_or_write_own_is_stored_exported_and_shown(app: AppTest,
                                                               ui_db: UiDb) -> None:
    _seed(ui_db)
    _open(app, ui_db, "paraphrase")
    for how in ("chose", "edited", "own"):
        _answer(app, how)
    traces = _traces(ui_db)
    assert len(traces) == 3
    by_action = {t["action"]: (text, t) for text, t in traces.items()}
    assert set(by_action) == {"chose", "edited", "own"}
    text, chose = by_action["chose"]
    assert (chose["chosen"], chose["chosen_id"], chose["edit_distance"]) == (0, "c0", 0)
    assert [(c["id"], c["score"]) for c in chose["shown"]] == [("c0", 0.9), ("c1", 0.4)]
    text, edited = by_action["edited"]
    assert (edited["chosen"], edited["chosen_id"]) == (1, "c1")
    assert text.endswith(" today.") and edited["edit_distance"] == len(" today")
    _, own = by_action["own"]
    assert (own["chosen"], own["edit_distance"]) == (None, None) and len(own["shown"]) == 2

    out = io.StringIO()
    with ui_db.store.session() as session:
        export_project(session, "paraphrase", "jsonl", out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    exported = {a["value"]["text"]: a["meta"]["choice"] for line in lines
                for a in line["annotations"]}
    assert exported == traces  # every answer's candidates, scores and choice

    owner = AppTest.from_file(str(APP), default_timeout=60).run()
    sign_in(owner, ui_db, "olga", "paraphrase")
    owner.switch_page("views/dashboard.py").run()
    assert not owner.exception, owner.exception
    [use] = [d.value for d in owner.dataframe if "chose_share" in d.value.columns]
    row = use.set_index("person").loc["ann"]
    assert row["answers"] == 3
    assert [round(row[f"{a}_share"], 3) for a in ("chose", "edited", "own")] == [0.333] * 3
    assert row[["median_s_chose", "median_s_edited", "median_s_own"]].notna().all()
    assert row["median_edit_distance"] == len(" today")
    charts = [c.proto.spec for c in owner.get("vega_lite_chart")]
    assert any('"share"' in spec and '"action"' in spec for spec in charts)  # the bar chart
    downloads = {d.proto.label for d in owner.get("download_button")}
    assert "Download choice CSV" in downloads
