"""Roles are found through the `annotate.roles` entry point group: a new role is a new
package that declares ``[project.entry-points."annotate.roles"] name = "pkg.mod:RoleClass"``,
not an edit here."""

from __future__ import annotations

import functools
from importlib.metadata import entry_points

from annotate.errors import InvalidInput
from roles.base import Role

BUILTIN = {
    "helper": "roles.helper:HelperRole",
    "annotator": "roles.annotator:AnnotatorRole",
    "moderator": "roles.moderator:ModeratorRole",
}


@functools.lru_cache(maxsize=1)
def available_roles() -> dict[str, str]:
    """Role name -> "module:Class", built-ins first, then entry points (which may override)."""
    found = dict(BUILTIN)
    for ep in entry_points(group="annotate.roles"):
        found[ep.name] = ep.value
    return found


def load_role(name: str) -> Role:
    target = available_roles().get(name)
    if target is None:
        raise InvalidInput(f"unknown role {name!r}; known: {', '.join(sorted(available_roles()))}")
    module_name, _, attr = target.partition(":")
    import importlib

    cls = getattr(importlib.import_module(module_name), attr)
    role: Role = cls()
    return role
