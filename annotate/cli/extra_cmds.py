"""Commands from the larger modules (agreement, roles, Label Studio, UI), registered by name."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
