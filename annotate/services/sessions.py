"""Sign-in sessions of the UI and the one-time setup token for the first owner.

- A sign-in session is a random id the browser keeps (a cookie, never a URL); the database
  keeps its sha256 and an expiry. Signing out deletes the row, so the same id no longer
  signs anyone in; deactivating a person ends their sessions on the next click.
- While nobody is owner, ``annotate ui`` prints a setup token (stored hashed, valid for
  ``SETUP_HOURS``, used once); the sign-in page asks for it before it creates the first
  owner. ``annotate people add NAME --owner`` is the other way in.

    token = issue_setup_token(session)                       # None when there is an owner
    owner, personal = create_first_owner(session, token, "olga")
    sid = start_session(session, owner.id)                   # the browser keeps sid
    resume_session(session, sid)                             # -> PersonInfo | None
    end_session(session, sid)                                # sign-out
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from annotate.errors import Conflict, InvalidInput
from annotate.services.people import PersonInfo, add_person, has_owner, hash_token
from annotate.store.models import utcnow
from annotate.store.people_models import Person, SetupToken, SignInSession

SESSION_PREFIX = "ses_"
SETUP_PREFIX = "setup_"
SESSION_HOURS = 12
SETUP_HOURS = 24


# -- sign-in sessions -----------------------------------------------------------------------


def start_session(session: Session, person_id: int, *, hours: int = SESSION_HOURS) -> str:
    """A new session for the person; returns its id (kept by the browser, stored hashed)."""
    token = SESSION_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    session.execute(delete(SignInSession).where(SignInSession.expires_at < now))
    session.add(SignInSession(person_id=person_id, token_hash=hash_token(token), created_at=now,
                              expires_at=now + timedelta(hours=hours)))
    session.flush()
    return token


def resume_session(session: Session, token: str | None) -> PersonInfo | None:
    """The active person whose unexpired session this is, or None."""
    if not token or not token.startswith(SESSION_PREFIX):
        return None
    row = session.execute(
        select(SignInSession, Person).join(Person, Person.id == SignInSession.person_id)
        .where(SignInSession.token_hash == hash_token(token))).first()
    if row is None:
        return None
    held, person = row
    if held.expires_at < utcnow() or not person.active:
        return None
    return PersonInfo(id=person.id, name=person.name, role=person.role, active=person.active,
                      last_seen_at=person.last_seen_at)


def end_session(session: Session, token: str | None) -> bool:
    """Sign-out: the session is deleted; True when there was one."""
    if not token:
        return False
    gone = session.execute(delete(SignInSession)
                           .where(SignInSession.token_hash == hash_token(token)))
    return bool(getattr(gone, "rowcount", 0))


# -- the first owner ------------------------------------------------------------------------


def issue_setup_token(session: Session, *, hours: int = SETUP_HOURS) -> str | None:
    """While nobody is owner: a new one-time setup token (earlier unused ones stop working).
    None when there is an owner already."""
    if has_owner(session):
        return None
    session.execute(delete(SetupToken).where(SetupToken.used_at.is_(None)))
    token = SETUP_PREFIX + secrets.token_urlsafe(24)
    now = utcnow()
    session.add(SetupToken(token_hash=hash_token(token), created_at=now,
                           expires_at=now + timedelta(hours=hours)))
    session.flush()
    return token


def create_first_owner(session: Session, setup_token: str, name: str) -> tuple[PersonInfo, str]:
    """Use the setup token (once) to add the first owner; return them and their personal
    token (shown once). Refused without a valid token or once there is an owner."""
    if not setup_token or not setup_token.strip():
        raise InvalidInput("the setup token is missing: `annotate ui` prints it at start")
    if has_owner(session):
        raise Conflict("there is an owner already: sign in with your token instead")
    now = utcnow()
    used = session.execute(  # one atomic use: a second attempt with the same token changes 0
        update(SetupToken).where(SetupToken.token_hash == hash_token(setup_token),
                                 SetupToken.used_at.is_(None), SetupToken.expires_at >= now)
        .values(used_at=now))
    if not getattr(used, "rowcount", 0):
        raise InvalidInput("that setup token is not valid (wrong, used or expired): restart "
                           "`annotate ui` for a new one, or run `annotate people add NAME "
                           "--owner`")
    return add_person(session, name, role="owner")
