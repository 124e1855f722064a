"""What each LLM role asks routing for: one small declaration per role, plain data.

Routing (:mod:`annotate.queue.routing`, :mod:`annotate.queue.reconcile`) does not name the
LLM roles. Each role declares :class:`RoleWants`: at which moment of an item's routing it
wants tasks and how many, read from the project's policy. The moments (:class:`Stage`):

- ``first pass``: with the item, beside people's annotations (the LLM annotator:
  ``llm_annotations`` tasks; LLM answers imported with the item stand in for some);
- ``before people``: with the item, and people's tasks wait until it is done (the Helper,
  when ``helper_first``);
- ``after a disagreement``: once the annotators' answers differ (the Moderator, when
  ``moderator_on_disagreement``; else a person adjudicates).

People's tasks (human annotator, adjudicator) are routing's own. The queue is a lower layer
than the roles, so it never imports them: the edge (the CLI, the UI, the runner) installs the
registered roles with :func:`use_roles`; code that routes without an edge (a library call, a
test) gets :data:`BUILTIN_ROLES`, the declarations of the three built-in roles.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Protocol

from annotate.errors import InvalidInput
from annotate.projects.policy import RoutingPolicy

ANNOTATOR = "annotator"  # people's annotation tasks; the answers compared for disagreement
ADJUDICATOR = "adjudicator"  # a person settles what the roles leave unsure


class Stage(StrEnum):
    FIRST_PASS = "first pass"
    BEFORE_PEOPLE = "before people"
    AFTER_DISAGREEMENT = "after a disagreement"


@dataclass(frozen=True)
class RoleWants:
    """How many tasks a role wants per item, and when: ``tasks`` is a number or the name of
    a policy field that holds it; ``when`` names a policy flag that switches the role on
    (None: always); with ``counts_imported`` LLM answers imported with an item stand in
    for tasks."""

    stage: Stage
    tasks: int | str = 1
    when: str | None = None
    counts_imported: bool = False

    def __post_init__(self) -> None:
        fields = RoutingPolicy.model_fields
        if isinstance(self.tasks, str) and self.tasks not in fields:
            raise InvalidInput(f"role wants: {self.tasks!r} is not a policy field")
        if self.when is not None and self.when not in fields:
            raise InvalidInput(f"role wants: {self.when!r} is not a policy field")

    def count(self, policy: RoutingPolicy, imported: int = 0) -> int:
        """The tasks wanted on one item under ``policy`` (``imported``: its LLM answers)."""
        if self.when is not None and not getattr(policy, self.when):
            return 0
        wanted = self.tasks if isinstance(self.tasks, int) else int(getattr(policy, self.tasks))
        return max(0, wanted - (imported if self.counts_imported else 0))


class WantsTasks(Protocol):
    """A role as routing sees it: its name and what it wants."""

    name: str
    wants: RoleWants


@dataclass(frozen=True)
class RoleSet:
    """The registered LLM roles, by name, with what each wants."""

    wants: Mapping[str, RoleWants]

    @classmethod
    def of(cls, roles: Iterable[WantsTasks]) -> RoleSet:
        return cls(MappingProxyType({role.name: role.wants for role in roles}))

    def at(self, stage: Stage) -> list[tuple[str, RoleWants]]:
        """The roles that want tasks at ``stage``, in registration order."""
        return [(name, w) for name, w in self.wants.items() if w.stage is stage]

    def stage_of(self, role: str) -> Stage | None:
        wants = self.wants.get(role)
        return wants.stage if wants is not None else None

    def wanted(self, stage: Stage, policy: RoutingPolicy,
               imported: int = 0) -> list[tuple[str, int]]:
        """``(role, tasks)`` of the roles that want tasks at ``stage`` under ``policy``."""
        counts = [(name, w.count(policy, imported)) for name, w in self.at(stage)]
        return [(name, n) for name, n in counts if n > 0]


BUILTIN_ROLES = RoleSet(MappingProxyType({
    "helper": RoleWants(Stage.BEFORE_PEOPLE, 1, when="helper_first"),
    "annotator": RoleWants(Stage.FIRST_PASS, "llm_annotations", counts_imported=True),
    "moderator": RoleWants(Stage.AFTER_DISAGREEMENT, 1, when="moderator_on_disagreement"),
}))

class _Installed:
    """The role set routing asks, filled from the source the edge gave on first use."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.source: Callable[[], RoleSet] | None = None
        self.roles: RoleSet | None = None


_installed = _Installed()


def use_roles(source: Callable[[], RoleSet] | None) -> None:
    """Route for the roles ``source()`` returns (called once, when routing first needs
    them); None goes back to :data:`BUILTIN_ROLES`."""
    with _installed.lock:
        _installed.source, _installed.roles = source, None


def registered_roles() -> RoleSet:
    """The roles routing asks: those the edge installed, else the built-in ones."""
    roles = _installed.roles
    if roles is not None:
        return roles
    with _installed.lock:
        if _installed.roles is None:
            source = _installed.source
            _installed.roles = source() if source is not None else BUILTIN_ROLES
        return _installed.roles


NO_DECISION: dict[str, str] = {"decision": "none"}


def is_no_decision(role: str, value: object) -> bool:
    """A role that settles disagreements may answer "none of them" and leave the item to a
    person; no other answer may take that form."""
    return (isinstance(value, dict) and value.get("decision") == "none"
            and registered_roles().stage_of(role) is Stage.AFTER_DISAGREEMENT)
