"""Roles are found through the `annotate.roles` entry point group: a new role is a new
package that declares ``[project.entry-points."annotate.roles"] name = "pkg.mod:RoleClass"``,
not an edit here. A role class has a ``name``, ``wants`` (which tasks routing creates for it,
:class:`~annotate.queue.wants.RoleWants`) and ``answer(ctx, task)``.

The edges (the CLI, the UI) call :func:`install_routing` so that routing asks the registered
roles, plugins included, what they want.
"""

from __future__ import annotations

import functools
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any

from annotate.errors import InvalidInput, SetupError
from annotate.queue.wants import RoleSet, RoleWants, use_roles

if TYPE_CHECKING:
    from roles.base import Role

ENTRY_POINT_GROUP = "annotate.roles"
BUILTIN = {
    "helper": "roles.helper:HelperRole",
    "annotator": "roles.annotator:AnnotatorRole",
    "moderator": "roles.moderator:ModeratorRole",
}


@functools.lru_cache(maxsize=1)
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_roles() -> dict[str, str]:
    """Role name -> "module:Class", built-ins first, then entry points (which may override)."""
    return {**BUILTIN, **{name: ep.value for name, ep in _entry_points().items()}}


def role_names() -> tuple[str, ...]:
    """The registered roles' names (nothing is imported)."""
    return tuple(available_roles())


def unknown_role(name: str) -> InvalidInput:
    return InvalidInput(f"unknown role {name!r}; known: {', '.join(role_names())}")


@functools.cache
def role_class(name: str) -> Any:
    """The class registered as ``name``; a plugin that cannot be loaded is a setup error."""
    if name in _entry_points():
        ep = _entry_points()[name]
        try:
            return ep.load()
        except Exception as exc:  # a broken plugin: one line naming it, not a traceback
            raise SetupError(f"role {name!r} ({ep.value}) cannot be loaded: {exc}") from exc
    if name not in BUILTIN:
        raise unknown_role(name)
    return _builtin_class(name)


def _builtin_class(name: str) -> Any:
    if name == "helper":
        from roles.helper import HelperRole

        return HelperRole
    if name == "annotator":
        from roles.annotator import AnnotatorRole

        return AnnotatorRole
    from roles.moderator import ModeratorRole

    return ModeratorRole


def load_role(name: str) -> Role:
    role: Role = role_class(name)()
    return role


def role_set() -> RoleSet:
    """What each registered role wants from routing, by its registered name (a role that
    declares no ``wants`` gets no tasks from routing)."""
    wants: dict[str, RoleWants] = {}
    for name in role_names():
        declared = getattr(role_class(name), "wants", None)
        if declared is None:
            continue
        if not isinstance(declared, RoleWants):
            raise SetupError(f"role {name!r}: wants must be a RoleWants, not "
                             f"{type(declared).__name__}")
        wants[name] = declared
    return RoleSet(wants)


def install_routing() -> None:
    """Routing asks the registered roles (loaded when routing first needs them)."""
    use_roles(role_set)
