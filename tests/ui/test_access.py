"""Access through streamlit.testing and the services, on a real SQLite file: blind answers are
one's own, the first owner needs the setup token (once), membership limits what annotators
see and claim (even with crafted session state), sessions end at sign-out, Markdown payloads
are shown as text, and an upgrade to 0006 locks nobody out."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update
from streamlit.testing.v1 import AppTest

from annotate.errors import Conflict, InvalidInput, NotFound
from annotate.services.people import grant, list_people, revoke, visible_project_ids
from annotate.services.sessions import (
    SignInSession,
    create_first_owner,
    end_session,
    issue_setup_token,
    resume_session,
    start_session,
)
from annotate.services.workspace import open_next_task
from annotate.store.engine import Store, open_store
from annotate.store.models import Annotation, utcnow
from annotate.store.people_models import Person
from tests.dbs import SqliteTemplate
from tests.ui.conftest import APP, UiDb, button, sign_in, texts
from ui.answers import no_remote_images, plain_markdown

PAYLOAD = "# Suggestion 0.99\n![x](http://203.0.113.7/x.png?leak=1) [a](http://h) :red[b]"


def _blind(ui_db: UiDb) -> list[tuple[str, dict]]:
    with ui_db.store.session() as session:
        return [(r[0], r[1]) for r in session.execute(
            select(Annotation.annotator_id, Annotation.value)
            .where(Annotation.phase == "blind").order_by(Annotation.id))]


def test_blind_second_person_never_gets_the_first_ones_answer(ui_db: UiDb) -> None:
    first = sign_in(AppTest.from_file(str(APP), default_timeout=60).run(), ui_db, "ann",
                    "sentiment-blind")
    button(first, "negative").click().run()  # type: ignore[attr-defined]
    button(first, "Commit my answer").click().run()  # type: ignore[attr-defined]
    assert "Your first answer: **negative**" in texts(first)
    button(first, "Skip").click().run()  # type: ignore[attr-defined]
    second = sign_in(AppTest.from_file(str(APP), default_timeout=60).run(), ui_db, "bob",
                     "sentiment-blind")
    shown = texts(second)
    assert "item `m1`" in shown  # the task ann committed on, then left
    assert "Blind-first" in shown
    assert "Your first answer" not in shown and "Suggestion" not in shown
    button(second, "positive").click().run()  # type: ignore[attr-defined]
    button(second, "Commit my answer").click().run()  # type: ignore[attr-defined]
    assert "Your first answer: **positive**" in texts(second)
    assert _blind(ui_db) == [("ann", {"label": "negative"}), ("bob", {"label": "positive"})]


@pytest.fixture
def empty(tmp_path: Path, sqlite_template: SqliteTemplate,
          monkeypatch: pytest.MonkeyPatch) -> Store:
    url = sqlite_template.clone(tmp_path)
    monkeypatch.setenv("ANNOTATE_DB", url)
    store = open_store(url)
    yield store  # type: ignore[misc]
    store.dispose()


def _first_owner_form(setup: str, name: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    inputs = at.text_input
    inputs[1].input(setup)
    inputs[2].input(name)
    button(at, "Create the first owner").click().run()  # type: ignore[attr-defined]
    assert not at.exception, at.exception
    return at


def _owners(store: Store) -> list[str]:
    with store.session() as session:
        return [p.name for p in list_people(session) if p.is_owner]


def test_the_first_owner_needs_the_setup_token_once(empty: Store) -> None:
    at = _first_owner_form("", "mallory")
    assert "setup token is missing" in texts(at) and _owners(empty) == []
    at = _first_owner_form("setup_guessed", "mallory")
    assert "not valid" in texts(at) and _owners(empty) == []
    with empty.session() as session:
        token = issue_setup_token(session)
    assert token is not None
    with empty.session() as session:  # stored hashed only
        assert session.scalar(text("SELECT count(*) FROM setup_tokens "
                                   "WHERE token_hash = :t"), {"t": token}) == 0
    at = _first_owner_form(token, "olga")
    assert _owners(empty) == ["olga"] and "Signed in as" in texts(at)
    assert at.code[0].value.startswith("ann_")  # olga's own token, shown once
    with pytest.raises(Conflict), empty.session() as session:
        create_first_owner(session, token, "mallory")
    with empty.session() as session:  # once there is an owner, no new setup token
        assert issue_setup_token(session) is None
    assert _owners(empty) == ["olga"]


def test_a_setup_token_is_used_once_and_expires(empty: Store) -> None:
    with empty.session() as session:
        old = issue_setup_token(session)
        token = issue_setup_token(session)  # a new one replaces the unused old one
    assert old and token
    with pytest.raises(InvalidInput), empty.session() as session:
        create_first_owner(session, old, "mallory")
    with empty.session() as session:
        session.execute(text("UPDATE setup_tokens SET expires_at = :t"),
                        {"t": "2000-01-01 00:00:00"})
    with pytest.raises(InvalidInput), empty.session() as session:
        create_first_owner(session, token, "mallory")
    assert _owners(empty) == []


def test_annotators_see_and_claim_only_their_projects(ui_db: UiDb) -> None:
    store, projects = ui_db.store, ui_db.seeded.projects
    with store.session() as session:
        revoke(session, "bob", "sentiment")
        assert visible_project_ids(session, "bob") == {projects["sentiment-blind"],
                                                       projects["pairs"]}
        assert visible_project_ids(session, "olga") is None  # owners see all
    with pytest.raises(NotFound):
        open_next_task(store, "bob", projects["sentiment"])
    at = sign_in(AppTest.from_file(str(APP), default_timeout=60).run(), ui_db, "bob")
    options = at.selectbox(key="w:sidebar:project").options
    assert "sentiment · classification" not in options and len(options) == 2
    at.session_state["project_id"] = projects["sentiment"]  # crafted state
    at.run()
    assert not at.exception
    with store.session() as session:
        leased = session.scalar(text("SELECT count(*) FROM tasks WHERE lease_owner = 'bob' "
                                     "AND project_id = :p"), {"p": projects["sentiment"]})
    assert leased == 0 and "sentiment ·" not in texts(at).replace("sentiment-blind", "")
    with store.session() as session:
        grant(session, "bob", "sentiment")
    assert open_next_task(store, "bob", projects["sentiment"]) is not None


def test_people_grant_and_revoke_on_the_command_line(ui_db: UiDb) -> None:
    cli = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "annotate")
    run = subprocess.run([cli, "--db", ui_db.url, "people", "revoke", "ann", "pairs"],
                         check=False, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    with ui_db.store.session() as session:
        assert ui_db.seeded.projects["pairs"] not in (visible_project_ids(session, "ann") or ())
    run = subprocess.run([cli, "--db", ui_db.url, "people", "grant", "ann", "pairs"],
                         check=False, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "now a member" in run.stdout, run.stderr
    with ui_db.store.session() as session:
        assert ui_db.seeded.projects["pairs"] in (visible_project_ids(session, "ann") or ())


def test_sessions_expire_and_end_at_sign_out(ui_db: UiDb) -> None:
    store = ui_db.store
    with store.session() as session:
        ann = session.scalars(select(Person).where(Person.name == "ann")).one()
        sid = start_session(session, ann.id)
        assert session.scalar(select(func.count()).select_from(SignInSession).where(
            SignInSession.token_hash == sid)) == 0  # stored hashed
    with store.session() as session:
        who = resume_session(session, sid)
        assert who is not None and who.name == "ann"
        assert resume_session(session, sid + "x") is None
        session.execute(update(SignInSession).values(
            expires_at=utcnow() - timedelta(minutes=1)))
    with store.session() as session:
        assert resume_session(session, sid) is None
        assert end_session(session, sid) and resume_session(session, sid) is None


def test_sign_out_in_the_ui_deletes_the_session(ui_db: UiDb) -> None:
    at = sign_in(AppTest.from_file(str(APP), default_timeout=60).run(), ui_db, "ann")
    with ui_db.store.session() as session:
        assert session.scalar(select(func.count()).select_from(SignInSession)) == 1
    button(at, "Sign out").click().run()  # type: ignore[attr-defined]
    with ui_db.store.session() as session:
        assert session.scalar(select(func.count()).select_from(SignInSession)) == 0
    assert "Signed in as" not in texts(at)


def test_markdown_payloads_are_shown_as_text() -> None:
    shown = plain_markdown(PAYLOAD)
    for mark in ("#", "![", "](", ":red["):
        assert mark not in shown.replace("\\", "") or f"\\{mark[0]}" in shown
    assert "\\!\\[x\\]\\(http\\:" in shown and shown.startswith("\\# ")
    assert no_remote_images("a ![x](http://h/x.png) b") == "a \\![x](http://h/x.png) b"


def test_upgrade_to_0006_keeps_everyone_on_every_project(tmp_path: Path) -> None:
    from alembic import command

    from annotate.store.engine import _alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = open_store(url, migrate=False)
    cfg = _alembic_config(store)
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005")
    with store.engine.begin() as conn:
        conn.execute(text("INSERT INTO people (name, role, active, created_at) VALUES "
                          "('ann', 'annotator', 1, '2026-01-01'), "
                          "('olga', 'owner', 1, '2026-01-01')"))
        conn.execute(text("INSERT INTO projects (name, kind, schema, policy, description, "
                          "created_at) VALUES ('a', 'classification', '{}', '{}', '', "
                          "'2026-01-01'), ('b', 'classification', '{}', '{}', '', '2026-01-01')"))
    store.dispose()
    store = open_store(url)  # migrates to head
    try:
        with store.session() as session:
            assert len(visible_project_ids(session, "ann") or ()) == 2
    finally:
        store.dispose()
