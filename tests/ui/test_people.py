"""People and sign-in: tokens stored only as sha256, invites used once, the last owner
kept, the `annotate people` commands, and migration 0003 down and up again."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from typer.testing import CliRunner

from annotate.cli.people_cmd import people_app
from annotate.errors import Conflict, InvalidInput, NotFound
from annotate.services.people import (
    Invite,
    Person,
    add_person,
    authenticate,
    create_invite,
    redeem_invite,
    rotate_token,
    set_active,
    set_role,
)
from annotate.store.engine import Store, current_revision, head_revision, open_store, table_names
from annotate.store.models import utcnow
from tests.dbs import SqliteTemplate


def test_a_token_is_stored_only_as_its_sha256(sqlite_store: Store) -> None:
    with sqlite_store.session() as session:
        who, token = add_person(session, "olga", role="owner")
    with sqlite_store.session() as session:
        stored = session.scalars(select(Person.token_hash)).one()
        assert stored == hashlib.sha256(token.encode()).hexdigest()
        dump = " ".join(str(v) for v in session.execute(text("SELECT * FROM people")).one())
        assert token not in dump
        assert authenticate(session, token) == who.__class__(
            id=who.id, name="olga", role="owner", active=True,
            last_seen_at=session.get_one(Person, who.id).last_seen_at)
        assert authenticate(session, token + "x") is None
        assert authenticate(session, "") is None


def test_names_roles_and_duplicates_are_checked(sqlite_store: Store) -> None:
    with sqlite_store.session() as session:
        add_person(session, "ann")
        with pytest.raises(Conflict):
            add_person(session, "ann")
        with pytest.raises(InvalidInput):
            add_person(session, "  ")
        with pytest.raises(InvalidInput):
            add_person(session, "eve", role="admin")


def test_a_new_token_replaces_the_old_and_deactivation_locks_out(sqlite_store: Store) -> None:
    with sqlite_store.session() as session:
        add_person(session, "olga", role="owner")
        _, old = add_person(session, "ann")
        new = rotate_token(session, "ann")
        assert authenticate(session, old) is None
        assert authenticate(session, new) is not None
        set_active(session, "ann", False)
        assert authenticate(session, new) is None


def test_the_last_owner_cannot_be_demoted_or_deactivated(sqlite_store: Store) -> None:
    with sqlite_store.session() as session:
        add_person(session, "olga", role="owner")
        with pytest.raises(Conflict):
            set_role(session, "olga", "annotator")
        with pytest.raises(Conflict):
            set_active(session, "olga", False)
        add_person(session, "pia", role="owner")
        assert set_role(session, "olga", "annotator").role == "annotator"
        with pytest.raises(NotFound):
            set_role(session, "nobody", "owner")


def test_an_invite_works_once_and_expires(sqlite_store: Store) -> None:
    with sqlite_store.session() as session:
        invite = create_invite(session, "carol")
        assert session.scalars(select(Person.token_hash)
                               .where(Person.name == "carol")).one() is None
        who, token = redeem_invite(session, invite)
        assert who.name == "carol" and authenticate(session, token) is not None
        with pytest.raises(Conflict, match="already used"):
            redeem_invite(session, invite)
        with pytest.raises(NotFound):
            redeem_invite(session, "inv_nonsense")
        late = create_invite(session, "carol", hours=1)
        session.execute(update(Invite).where(Invite.used_at.is_(None))
                        .values(expires_at=utcnow() - timedelta(minutes=1)))
        with pytest.raises(Conflict, match="expired"):
            redeem_invite(session, late)


def test_people_cli_adds_an_owner_and_prints_the_token_once(
        tmp_path: Path, sqlite_template: SqliteTemplate, monkeypatch: pytest.MonkeyPatch) -> None:
    url = sqlite_template.clone(tmp_path)
    monkeypatch.setenv("ANNOTATE_DB", url)
    runner = CliRunner()
    result = runner.invoke(people_app, ["add", "olga", "--owner"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    listing = runner.invoke(people_app, ["list"])
    assert "olga" in listing.output and "owner" in listing.output
    link = runner.invoke(people_app, ["invite", "bob", "--url", "https://annotate.example"])
    assert link.output.startswith("https://annotate.example/?invite=inv_")
    store = open_store(url)
    with store.session() as session:
        who = authenticate(session, token)
    store.dispose()
    assert who is not None and who.is_owner


def test_migration_0003_goes_down_and_up(sqlite_store: Store) -> None:
    from alembic import command

    from annotate.store.engine import _alembic_config

    cfg = _alembic_config(sqlite_store)
    with sqlite_store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
    assert current_revision(sqlite_store) == "0002"
    with sqlite_store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    assert current_revision(sqlite_store) == head_revision(sqlite_store)
    assert {"people", "invites"} <= set(table_names(sqlite_store))
