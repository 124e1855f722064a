"""What each cascade stage decided and cost, in `annotate status` and the owners' dashboard
(real database, the scripted fake LLM priced per token)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from annotate.cli.main import main
from annotate.llm.client import make_client
from annotate.llm.testing import install_fake
from annotate.services.cascade_stages import stage_table
from annotate.services.dashboards import progress
from annotate.store.engine import Store
from annotate.store.models import Project
from roles.runner import run_project
from tests.factories import make_project
from tests.test_cascade import CASCADE, _respond

PER_CALL = 15e-6  # 10 prompt + 5 completion tokens at 1e-6 each


def _run_cascade(store: Store) -> None:
    pid = make_project(store, 4, policy=CASCADE)
    install_fake(responder=_respond, models=("a", "b"), price_per_token=(1e-6, 1e-6))
    run_project(store, "p", make_client(store, pid, "fake/a"), model="fake/a",
                roles=("annotator",))


def test_each_stage_shows_items_reached_decided_passed_on_and_cost(store: Store) -> None:
    _run_cascade(store)
    with store.session() as session:
        project = session.scalars(select(Project)).one()
        table = stage_table(session, project)
        dashboard = progress(session, project).stages
    rows = {r["stage"]: r for r in table.to_dict(orient="records")}
    assert list(rows) == ["1", "2", "people"]
    first, second, people = rows["1"], rows["2"], rows["people"]
    assert (first["reached"], first["answered"], first["failed"], first["decided"],
            first["passed_on"]) == (4, 3, 1, 1, 3)
    assert (second["reached"], second["answered"], second["decided"],
            second["passed_on"]) == (3, 3, 2, 1)
    assert (people["reached"], people["decided"]) == (1, 0)
    assert first["cost_usd"] == pytest.approx(4 * PER_CALL)  # the malformed call was paid
    assert second["cost_usd"] == pytest.approx(3 * PER_CALL)
    assert first["cost_per_item_usd"] == pytest.approx(PER_CALL)
    assert dashboard is not None and dashboard.equals(table)


def test_status_prints_the_cascade_and_gives_it_as_json(
        store: Store, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    _run_cascade(store)
    assert main(["--db", db_url, "status", "p", "--json"]) == 0
    stages = json.loads(capsys.readouterr().out)["cascade"]
    assert [(s["stage"], s["decided"]) for s in stages] == [("1", 1), ("2", 2), ("people", 0)]
    assert main(["--db", db_url, "status", "p"]) == 0
    text = capsys.readouterr().out
    assert all(part in text for part in ("cascade (", "1. fake/a", "2. fake/b", "0.9",
                                         "$6e-05", "$4.5e-05", "$1.5e-05", "people"))


def test_without_a_cascade_there_is_no_stage_table(store: Store, db_url: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    make_project(store, 2)
    with store.session() as session:
        assert stage_table(session, session.scalars(select(Project)).one()).empty
    assert main(["--db", db_url, "status", "p", "--json"]) == 0
    assert "cascade" not in json.loads(capsys.readouterr().out)
