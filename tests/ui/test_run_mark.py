"""Every run that draws its whole page ends with a mark counting the runs of the tab (the
browser tests wait on it: Streamlit shows its running indicator only after 500 ms)."""

from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest

from tests.ui.conftest import UiDb, sign_in


def _marks(at: AppTest) -> list[int]:
    return [int(m) for e in at.get("html")
            for m in re.findall(r'data-annotate-run="(\d+)"', str(e.proto.body))]


def test_each_run_ends_with_its_count(app: AppTest, ui_db: UiDb) -> None:
    first = _marks(app)
    assert len(first) == 1  # the sign-in page too
    sign_in(app, ui_db, "ann", "sentiment")
    second = _marks(app)
    app.run()
    third = _marks(app)
    assert len(second) == len(third) == 1 and first[0] < second[0] < third[0]
    last = app.main.children[max(app.main.children)]
    assert "data-annotate-run" in str(last.proto.body)  # the page's last element
