"""The newest migration's revision, read from the migration files without alembic.

Opening a store compares the database's ``alembic_version`` with this head and imports
alembic only when they differ (loading alembic and its scripts took ~0.1 s of every command:
#17 item 5). Each file in ``migrations/versions`` names itself with ``revision = "..."`` and
its parent with ``down_revision = "..."``; the head is the one revision no other file names
as its parent. Anything this simple reading cannot tell apart (a merge, two heads, a file it
cannot parse) gives None, and the caller asks alembic. ``tests/test_store_open.py`` checks the
answer against alembic's ``ScriptDirectory``.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

VERSIONS_DIR = Path(__file__).parent / "migrations" / "versions"
_ASSIGNMENT = re.compile(r"""^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+?)\s*$""", re.M)
_QUOTED = re.compile(r"""^(['"])([^'"]+)\1$""")


@cache
def head_revision_of_files(folder: Path = VERSIONS_DIR) -> str | None:
    """The single head revision of the migration scripts in ``folder``, else None."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in folder.glob("*.py"):
        found = dict(_ASSIGNMENT.findall(path.read_text(encoding="utf-8")))
        revision = _quoted(found.get("revision"))
        parent = found.get("down_revision")
        if revision is None or parent is None:
            return None
        revisions.add(revision)
        if parent != "None":
            down = _quoted(parent)
            if down is None:  # a tuple: a merge of branches
                return None
            parents.add(down)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _quoted(text: str | None) -> str | None:
    match = _QUOTED.match(text or "")
    return match.group(2) if match else None
