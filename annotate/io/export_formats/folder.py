"""A directory written whole or not at all: an export fills a temporary directory beside
the target, which replaces the target only when everything was written. The target may be
missing, an empty directory, or an earlier export of the same format (it holds the format's
marker file); anything else is refused, so an export never deletes a user's folder."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from annotate.errors import InvalidInput
from annotate.outfile import STDOUT, write_error


def check_directory_target(target: Path, fmt: str, marker: str | None) -> None:
    """Refuse, before any work, a target the export would not replace."""
    if not target.parent.is_dir():
        raise InvalidInput(f"{target}: folder {target.parent} does not exist")
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise InvalidInput(f"{target} exists and is not a directory; {fmt} writes a directory: "
                           "name a new one")
    if target.is_dir() and any(target.iterdir()) and not (marker and (target / marker).exists()):
        raise InvalidInput(f"{target} is a directory that is not empty and not an earlier "
                           f"{fmt} export; name a new directory")


@contextmanager
def new_directory(out: str | os.PathLike[str] | IO[Any], fmt: str,
                  marker: str | None = None) -> Iterator[Path]:
    """A fresh directory to write into; it becomes ``out`` when the block ends without error."""
    if not isinstance(out, str | os.PathLike) or str(out) == STDOUT:
        raise InvalidInput(f"{fmt} writes a directory; name it with -o DIR")
    target = Path(out)
    check_directory_target(target, fmt, marker)
    try:
        work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp",
                                     dir=target.parent))
    except OSError as exc:
        raise write_error(target, exc) from None
    old = work.with_name(work.name + ".old")
    try:
        yield work
        if target.exists():
            target.rename(old)
        work.rename(target)
    except OSError as exc:
        if old.exists() and not target.exists():
            old.rename(target)  # put the earlier export back
        raise write_error(target, exc) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
