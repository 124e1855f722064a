"""Names people type (projects): a safe, documented character set, checked at the door.

A project name is 1-64 characters: letters (any script), digits, ``_``, ``.`` and ``-``,
starting with a letter or digit. So a name is never markup, never a path (no ``/``, no
leading ``.``), and prints the same everywhere it is shown.
"""

from __future__ import annotations

import re

from annotate.errors import InvalidInput

PROJECT_NAME = re.compile(r"[^\W_][\w.\-]{0,63}")
PROJECT_NAME_RULE = ("1-64 letters, digits, '_', '.' or '-', starting with a letter or digit "
                     "(e.g. reviews, ner-2026.1)")


def check_project_name(name: str) -> str:
    """``name`` if it is a usable project name, else :class:`InvalidInput` saying why."""
    if not isinstance(name, str) or PROJECT_NAME.fullmatch(name) is None:
        raise InvalidInput(f"not a usable project name: {name!r}; use {PROJECT_NAME_RULE}")
    return name
