"""The CLI's error contract, applied once at the edge.

- A failure the user can cause or fix (a bad option or value, a bad file, an unknown project,
  an unreachable, foreign or damaged database, a missing model, a full disk, permission
  denied) is **one line on stderr** saying what to do, and **exit code 2**.
- Ctrl-C is exit code 130; a closed output pipe (``annotate export x | head``) ends quietly
  with 141, as ``git`` does.
- Anything else is a bug: the traceback, a line asking for a report, and **exit code 1**.
"""

from __future__ import annotations

import errno
import os
import sys
import traceback
import unicodedata
from collections.abc import Callable
from typing import Any

from rich.text import Text

from annotate import __version__
from annotate.errors import AnnotateError

USER_ERRNOS = {errno.ENOSPC: "the disk is full; free some space and try again",
               errno.EDQUOT: "the disk quota is exceeded",
               errno.EACCES: "permission denied",
               errno.EPERM: "permission denied",
               errno.EROFS: "the file system is read-only",
               errno.ENOENT: "no such file or folder",
               errno.ENOTDIR: "a part of the path is not a folder",
               errno.EISDIR: "is a folder, not a file",
               errno.ENAMETOOLONG: "the file name is too long",
               errno.EMFILE: "too many open files"}
INTERRUPTED = ("interrupted: workers release the tasks in hand; a task still leased returns "
               "to the queue when its lease expires")
EXIT_USER, EXIT_BUG, EXIT_INTERRUPTED, EXIT_PIPE = 2, 1, 130, 141


def one_line(message: str) -> str:
    """A message as one printable line: newlines joined, control characters escaped."""
    parts = [part.strip() for part in str(message).splitlines() if part.strip()]
    text = "; ".join(parts)
    return "".join(ch if unicodedata.category(ch)[0] != "C" or ch == " "
                   else ch.encode("unicode_escape").decode("ascii") for ch in text)


def say_error(message: str) -> None:
    from annotate.cli.common import console

    console.print(Text.assemble(("error:", "bold red"), " ", one_line(message)),
                  soft_wrap=True, highlight=False)


def run_guarded(call: Callable[[], Any], argv: list[str] | None = None) -> int:
    """Call the CLI; map every way it can end to an exit code and at most one line."""
    try:
        result = call()
    except AnnotateError as exc:
        say_error(str(exc))
        return exc.exit_code
    except BaseException as exc:  # the edge: every other ending is mapped here
        code = _signal_exit(exc)
        if code is None:
            code = _framework_exit(exc)
        if code is not None:
            return code
        message = user_message(exc)
        if message is None:
            if isinstance(exc, SystemExit):
                raise
            return _bug(exc, argv)
        say_error(message)
        return EXIT_USER
    if result == EXIT_INTERRUPTED:  # Typer turns Ctrl-C into a return value of 130
        say_error(INTERRUPTED)
    return result if isinstance(result, int) else 0


def _signal_exit(exc: BaseException) -> int | None:
    """Ctrl-C and a closed output pipe, raised directly or re-raised by Typer."""
    cause = exc.__cause__ or exc.__context__
    if isinstance(exc, BrokenPipeError) or (isinstance(exc, SystemExit)
                                            and isinstance(cause, BrokenPipeError)):
        _silence_stdout()
        return EXIT_PIPE
    if isinstance(exc, KeyboardInterrupt) or isinstance(cause, KeyboardInterrupt):
        say_error(INTERRUPTED)
        return EXIT_INTERRUPTED
    return None


def _framework_exit(exc: BaseException) -> int | None:
    """Typer's and Click's own ways to end: usage errors, Exit, Abort."""
    name = type(exc).__name__
    code: int | None = None
    if name == "Exit" and hasattr(exc, "exit_code"):
        code = int(exc.exit_code or 0)
    elif name == "Abort":
        say_error("aborted")
        code = EXIT_INTERRUPTED
    elif name == "NoArgsIsHelpError":  # `annotate`, `annotate project`: the help, exit 2
        if hasattr(exc, "format_message"):  # click's plain help (rich's was printed already)
            print(exc.format_message(), file=sys.stderr)
        code = EXIT_USER
    elif hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
        message = str(exc.format_message()).rstrip(".")
        ctx = getattr(exc, "ctx", None)
        if ctx is not None and getattr(exc, "exit_code", 1) == EXIT_USER:
            message += f" (see '{ctx.command_path} --help')"
        say_error(message)
        code = EXIT_USER if exc.exit_code in (None, 0, 1, 2) else int(exc.exit_code)
    return code


def user_message(exc: BaseException) -> str | None:
    """The one-line message of a failure the user can fix, or None when it is a bug."""
    if isinstance(exc, OSError) and exc.errno in USER_ERRNOS:
        where = exc.filename if exc.filename is not None else ""
        return f"{where}: {USER_ERRNOS[exc.errno]}" if where else USER_ERRNOS[exc.errno]
    if isinstance(exc, MemoryError):
        return "out of memory; try a smaller input or --limit"
    return _database_message(exc)


def _database_message(exc: BaseException) -> str | None:
    try:
        from sqlalchemy.exc import DatabaseError, IntegrityError, ProgrammingError
    except ImportError:  # pragma: no cover - sqlalchemy is a dependency
        return None
    if _driver_error(exc):  # raised by a driver's own cursor (the raw export batches)
        pass
    elif not isinstance(exc, DatabaseError) or isinstance(exc,
                                                           IntegrityError | ProgrammingError):
        return None
    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    low = first.lower()
    if "no such table" in low or "no such column" in low or "does not exist" in low:
        hint = ("the database is missing tables (damaged, or not an annotate database): check "
                "--db, or run `annotate db upgrade` on an annotate database")
    elif "not a database" in low or "malformed" in low:
        hint = "the --db file is not an annotate SQLite database, or it is damaged"
    elif "locked" in low:
        hint = "another process holds the database lock; try again when it has finished"
    elif "readonly" in low or "read-only" in low:
        hint = "the database is read-only; check the file's permissions"
    elif "disk i/o" in low or "unable to open" in low or "full" in low:
        hint = "the database file cannot be written (deleted, moved, or the disk is full)"
    elif "server closed" in low or "connection" in low or "terminating" in low:
        hint = "the database server closed the connection; check that it is running"
    else:
        hint = "check --db and that the database is an annotate database"
    return f"database error: {first} ({hint})"


def _driver_error(exc: BaseException) -> bool:
    """A DB-API error of sqlite3 or psycopg the user can fix (not an integrity or programming
    error, which are bugs)."""
    import sqlite3

    kinds: list[type[BaseException]] = [sqlite3.OperationalError, sqlite3.DatabaseError]
    if "psycopg" in sys.modules:
        import psycopg

        kinds.append(psycopg.OperationalError)
    bugs = (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)
    return isinstance(exc, tuple(kinds)) and not isinstance(exc, bugs)


def _bug(exc: BaseException, argv: list[str] | None) -> int:
    traceback.print_exception(exc)
    command = " ".join(["annotate", *(argv if argv is not None else sys.argv[1:])])
    say_error(f"this is a bug in annotate {__version__} ({type(exc).__name__} running "
              f"`{command[:200]}`); please report it, with the traceback above, as an issue of "
              "the annotate project")
    return EXIT_BUG


def _silence_stdout() -> None:
    """After a closed pipe, point stdout at /dev/null so the exit flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
