"""Review under Dawid-Skene fits the project once for every item shown, and again only
after its answers changed (a decision added, an answer edited from its author's history)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_aggregation_policy import (  # noqa: F401 - project is a fixture
    decide,
    project,
    review_finals,
    set_aggregation,
    truth,
)


def test_review_fits_once_per_version_of_the_answers(project: str, tmp_path: Path,  # noqa: F811
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from annotate.agreement import project_finals

    fits: list[str] = []
    fit = project_finals.project_final_answers

    def counted(*args: object, **kwargs: object) -> object:
        fits.append("fit")
        return fit(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(project_finals, "project_final_answers", counted)
    set_aggregation(project, tmp_path, "dawid_skene")
    first = review_finals(project)
    assert len(first) == 30 and len(fits) == 1
    assert first["i20"] == (truth(20), "dawid_skene")
    assert review_finals(project) == first and len(fits) == 1  # nothing changed
    decide(project, "i20", "b" if truth(20) == "a" else "a")
    after = review_finals(project)
    assert len(fits) == 2
    assert after["i20"][1] == "adjudicator" and after["i21"] == first["i21"]
