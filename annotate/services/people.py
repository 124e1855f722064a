"""People who sign in to the UI: per-person tokens and invite links, stored only as hashes.

A person has a name (also their annotator id on every annotation they make) and a role:
``owner`` (sees dashboards, review and setup) or ``annotator`` (sees their own tasks).
A token is shown once, when it is made; the database keeps its sha256 only, so a leaked
database does not let anyone sign in.

    person, token = add_person(session, "alice", role="owner")   # show token once
    authenticate(session, token)                                  # -> PersonInfo | None
    invite = create_invite(session, "bob")                        # one-time link token
    person, token = redeem_invite(session, invite)                # signs bob in, new token
    grant(session, "bob", "sentiment")                            # bob may work on it
    visible_project_ids(session, "bob")                           # -> {3}; None for owners

Membership: an annotator sees and claims tasks only of the projects they are a member of;
owners see every project. Names that are not people (scripted workers, replays, benchmarks)
cannot sign in to the UI and are not checked.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

from sqlalchemy import (
    delete,
    func,
    select,
)
from sqlalchemy.orm import Session

from annotate.errors import Conflict, InvalidInput, NotFound
from annotate.store.models import Project, utcnow
from annotate.store.people_models import Invite, Person, ProjectMember

PersonRole = Literal["owner", "annotator"]
PERSON_ROLES: tuple[str, ...] = get_args(PersonRole)
TOKEN_PREFIX = "ann_"
INVITE_PREFIX = "inv_"
DEFAULT_INVITE_HOURS = 72
_NAME = re.compile(r"^[\w][\w .@+-]{0,99}$")


@dataclass(frozen=True)
class PersonInfo:
    """A signed-in person as the UI holds it (no token, no hash)."""

    id: int
    name: str
    role: str
    active: bool = True
    last_seen_at: datetime | None = None

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"


def hash_token(token: str) -> str:
    """The stored form of a token: its sha256, hex."""
    return hashlib.sha256(token.strip().encode("utf-8")).hexdigest()


def _new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(24)


def _info(person: Person) -> PersonInfo:
    return PersonInfo(id=person.id, name=person.name, role=person.role, active=person.active,
                      last_seen_at=person.last_seen_at)


def _check_role(role: str) -> None:
    if role not in PERSON_ROLES:
        raise InvalidInput(f"unknown role {role!r}; choose one of {', '.join(PERSON_ROLES)}")


def _find(session: Session, name: str) -> Person:
    person = session.scalar(select(Person).where(Person.name == name))
    if person is None:
        raise NotFound(f"no person named {name!r}")
    return person


def add_person(session: Session, name: str, role: str = "annotator") -> tuple[PersonInfo, str]:
    """Add a person; return them and their sign-in token (shown once, stored hashed)."""
    name = name.strip()
    if not _NAME.match(name):
        raise InvalidInput(f"not a usable name: {name!r} (letters, digits, space . @ + - _; "
                           "at most 100 characters)")
    _check_role(role)
    if session.scalar(select(Person.id).where(Person.name == name)) is not None:
        raise Conflict(f"a person named {name!r} already exists")
    token = _new_token(TOKEN_PREFIX)
    person = Person(name=name, role=role, token_hash=hash_token(token), active=True,
                    created_at=utcnow())
    session.add(person)
    session.flush()
    return _info(person), token


def authenticate(session: Session, token: str) -> PersonInfo | None:
    """The active person the token belongs to, or None."""
    if not token or not token.strip():
        return None
    person = session.scalar(select(Person).where(Person.token_hash == hash_token(token)))
    if person is None or not person.active:
        return None
    person.last_seen_at = utcnow()
    return _info(person)


def rotate_token(session: Session, name: str) -> str:
    """Replace a person's token (the old one stops working); return the new one."""
    person = _find(session, name)
    token = _new_token(TOKEN_PREFIX)
    person.token_hash = hash_token(token)
    session.flush()
    return token


def create_invite(session: Session, name: str, *, role: str = "annotator",
                  hours: int = DEFAULT_INVITE_HOURS, created_by: str = "") -> str:
    """A one-time invite token for ``name`` (the person is added when new); expires in
    ``hours``. Put it in a link with :func:`invite_link`."""
    if hours < 1:
        raise InvalidInput("an invite must be valid for at least one hour")
    person = session.scalar(select(Person).where(Person.name == name.strip()))
    if person is None:
        info, _ = add_person(session, name, role)
        person = session.get_one(Person, info.id)
        person.token_hash = None  # no token until the invite is redeemed
    token = _new_token(INVITE_PREFIX)
    now = utcnow()
    session.add(Invite(person_id=person.id, token_hash=hash_token(token), created_by=created_by,
                       created_at=now, expires_at=now + timedelta(hours=hours)))
    session.flush()
    return token


def redeem_invite(session: Session, invite_token: str) -> tuple[PersonInfo, str]:
    """Use an invite once: the person gets a fresh sign-in token (returned, shown once)."""
    invite = session.scalar(select(Invite).where(Invite.token_hash == hash_token(invite_token)))
    if invite is None:
        raise NotFound("this invite link is not valid")
    if invite.used_at is not None:
        raise Conflict("this invite link was already used; ask an owner for a new one")
    if invite.expires_at < utcnow():
        raise Conflict("this invite link has expired; ask an owner for a new one")
    person = session.get_one(Person, invite.person_id)
    if not person.active:
        raise Conflict(f"{person.name} is deactivated")
    invite.used_at = utcnow()
    token = _new_token(TOKEN_PREFIX)
    person.token_hash = hash_token(token)
    person.last_seen_at = utcnow()
    session.flush()
    return _info(person), token


def invite_link(base_url: str, invite_token: str) -> str:
    """The link a person opens to sign in with an invite."""
    return f"{base_url.rstrip('/')}/?invite={invite_token}"


def set_role(session: Session, name: str, role: str) -> PersonInfo:
    _check_role(role)
    person = _find(session, name)
    if person.role == "owner" and role != "owner" and _owners(session) <= 1:
        raise Conflict(f"{name} is the last owner")
    person.role = role
    session.flush()
    return _info(person)


def set_active(session: Session, name: str, active: bool) -> PersonInfo:
    """Deactivate (their token stops working) or reactivate a person."""
    person = _find(session, name)
    if not active and person.role == "owner" and _owners(session) <= 1:
        raise Conflict(f"{name} is the last owner")
    person.active = active
    session.flush()
    return _info(person)


def _owners(session: Session) -> int:
    count = session.scalar(select(func.count()).select_from(Person).where(
        Person.role == "owner", Person.active.is_(True)))
    return int(count or 0)


def has_owner(session: Session) -> bool:
    return _owners(session) > 0


def list_people(session: Session) -> list[PersonInfo]:
    return [_info(p) for p in session.scalars(select(Person).order_by(Person.name))]


# -- project membership ---------------------------------------------------------------------


def _project(session: Session, name: str) -> Project:
    project = session.scalar(select(Project).where(Project.name == name))
    if project is None:
        raise NotFound(f"no project named {name!r}")
    return project


def grant(session: Session, name: str, project: str, *, by: str = "") -> bool:
    """Make the person a member of the project; False when they already were."""
    person, target = _find(session, name), _project(session, project)
    if session.get(ProjectMember, (target.id, person.id)) is not None:
        return False
    session.add(ProjectMember(project_id=target.id, person_id=person.id, created_by=by,
                              created_at=utcnow()))
    session.flush()
    return True


def revoke(session: Session, name: str, project: str) -> bool:
    """End the person's membership of the project; False when they were not a member."""
    person, target = _find(session, name), _project(session, project)
    gone = session.execute(delete(ProjectMember).where(
        ProjectMember.project_id == target.id, ProjectMember.person_id == person.id))
    session.flush()
    return bool(getattr(gone, "rowcount", 0))


def members(session: Session, project_id: int) -> list[str]:
    """The names of the project's members (owners see it anyway)."""
    return list(session.scalars(
        select(Person.name).join(ProjectMember, ProjectMember.person_id == Person.id)
        .where(ProjectMember.project_id == project_id).order_by(Person.name)))


def visible_project_ids(session: Session, name: str) -> set[int] | None:
    """The projects the person may see: None (all) for an active owner and for names that
    are not people (scripted workers); an empty set for a deactivated person."""
    person = session.scalar(select(Person).where(Person.name == name))
    if person is None or (person.active and person.role == "owner"):
        return None
    if not person.active:
        return set()
    return set(session.scalars(select(ProjectMember.project_id)
                               .where(ProjectMember.person_id == person.id)))


def may_see_project(session: Session, name: str, project_id: int) -> bool:
    visible = visible_project_ids(session, name)
    return visible is None or project_id in visible
