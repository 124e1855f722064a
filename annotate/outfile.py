"""Output files written whole or not at all, and never over something that is not a file.

:func:`safe_output` writes to a temporary file beside the target and renames it onto the
target only when everything was written (and flushed to disk). The old file stays intact
on any failure: a full disk, a closed pipe, a bug half-way. It refuses to replace what is
not a regular file (a directory, a FIFO, a device, a socket, a symlink) unless ``force``
is given, in which case it writes *through* it (into the FIFO, the device, or the file the
symlink points to) instead of replacing it. ``-`` means standard output.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from annotate.errors import InvalidInput

STDOUT = "-"


def describe(mode: int) -> str | None:
    """What a non-regular file is, in words (None for a regular file)."""
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symlink"))
    for test, name in kinds:
        if test(mode):
            return name
    return None


def check_target(path: Path, *, force: bool = False) -> bool:
    """Refuse a target that is not a regular file; True when it must be written through."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        if not path.parent.is_dir():
            raise InvalidInput(f"{path}: folder {path.parent} does not exist") from None
        return False
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot write: {exc.strerror}") from None
    what = describe(mode)
    if what is None:
        return False
    if stat.S_ISDIR(mode) or (stat.S_ISLNK(mode) and path.is_dir()):
        raise InvalidInput(f"{path} is a directory; name a file inside it")
    if not force:
        raise InvalidInput(f"{path} is {what}, not a regular file; refusing to replace it "
                           "(use --force to write into it, or choose another path)")
    return True


def write_error(path: Path | str, exc: OSError) -> InvalidInput:
    """A failure to write as a one-line message saying what to do."""
    hints = {errno.ENOSPC: "the disk is full; free some space and try again",
             errno.EDQUOT: "the disk quota is exceeded",
             errno.EACCES: "permission denied; choose a folder you can write to",
             errno.EPERM: "permission denied; choose a folder you can write to",
             errno.EROFS: "the file system is read-only",
             errno.EPIPE: "the reader closed the pipe"}
    reason = hints.get(exc.errno or 0, exc.strerror or str(exc))
    return InvalidInput(f"{path}: cannot write: {reason}; nothing was changed")


@contextmanager
def safe_output(target: str | os.PathLike[str], *, binary: bool = False,
                force: bool = False) -> Iterator[IO[Any]]:
    """A stream whose contents replace ``target`` only if the block ends without an error."""
    if str(target) == STDOUT:
        with _stdout(binary) as stream:
            yield stream
        return
    path = Path(target)
    if check_target(path, force=force):
        with _through(path, binary) as stream:
            yield stream
        return
    mode = _mode_for(path)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise write_error(path, exc) from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb" if binary else "w", **_text_args(binary)) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        raise write_error(path, exc) from None
    finally:
        tmp.unlink(missing_ok=True)


def write_text(target: str | os.PathLike[str], text: str, *, force: bool = False) -> None:
    """Write a whole text file safely (see :func:`safe_output`)."""
    with safe_output(target, force=force) as stream:
        stream.write(text)


def write_bytes(target: str | os.PathLike[str], data: bytes, *, force: bool = False) -> None:
    with safe_output(target, binary=True, force=force) as stream:
        stream.write(data)


def _text_args(binary: bool) -> dict[str, Any]:
    return {} if binary else {"encoding": "utf-8", "newline": ""}


def _mode_for(path: Path) -> int:
    """Keep an existing file's permissions; a new file gets 0666 minus the umask."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextmanager
def _through(path: Path, binary: bool) -> Iterator[IO[Any]]:
    try:
        with path.open("wb" if binary else "w", **_text_args(binary)) as stream:
            yield stream
    except OSError as exc:
        raise write_error(path, exc) from None


@contextmanager
def _stdout(binary: bool) -> Iterator[IO[Any]]:
    stream: IO[Any] = sys.stdout.buffer if binary else sys.stdout
    try:
        yield stream
        stream.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise write_error("standard output", exc) from None


def output_folder(target: str | os.PathLike[str]) -> Path:
    """The folder ``target``, created if missing; refused when it is something else."""
    path = Path(target)
    if path.exists() and not path.is_dir():
        raise InvalidInput(f"{path} exists and is not a folder; name a folder for the output")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(path, exc) from None
    return path
