"""Entry point of the `annotate` console script.

This module imports nothing heavy: `annotate status NAME --json` is answered first by
:mod:`annotate.cli.status_json` when it can be (no Typer, SQLAlchemy or pydantic: #17 item 5);
every other command line builds the Typer app (:mod:`annotate.cli.app`) and runs it under the
error contract (:mod:`annotate.cli.errors`).
"""

from __future__ import annotations

import sys
from typing import Any


def main(argv: list[str] | None = None) -> int:
    """Run the CLI under the error contract (see :mod:`annotate.cli.errors`)."""
    from annotate.cli.status_json import quick_status

    text = quick_status(sys.argv[1:] if argv is None else argv)
    if text is not None:
        return _print(text)
    from annotate.cli.app import app
    from annotate.cli.errors import run_guarded

    return run_guarded(lambda: app(args=argv, standalone_mode=False), argv)


def _print(text: str) -> int:
    try:
        print(text, flush=True)
    except BrokenPipeError as exc:  # `annotate status x --json | head -1`: as every command
        from annotate.cli.errors import run_guarded

        closed = exc
        return run_guarded(lambda: _raise(closed))
    return 0


def _raise(exc: BaseException) -> None:
    raise exc


def __getattr__(name: str) -> Any:
    """``annotate.cli.main.app``: the Typer app, built when first asked for."""
    if name == "app":
        from annotate.cli.app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    sys.exit(main())
