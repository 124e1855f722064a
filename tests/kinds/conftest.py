"""Registering a kind for one test: the ``annotate.kinds`` entry point group is the boundary,
so a test adds a real :class:`~importlib.metadata.EntryPoint` to what the registry reads."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib.metadata import EntryPoint, entry_points

import pytest

from annotate.kinds import registry

Register = Callable[[str, str], None]


@pytest.fixture
def register_kind(monkeypatch: pytest.MonkeyPatch) -> Iterator[Register]:
    """``register_kind(name, "module:attr")`` as if an installed package declared it."""
    extra: list[EntryPoint] = []

    def with_extra(*, group: str) -> list[EntryPoint]:
        return [*entry_points(group=group), *(ep for ep in extra if ep.group == group)]

    def register(name: str, target: str) -> None:
        extra.append(EntryPoint(name=name, value=target, group=registry.GROUP))
        registry.refresh()

    monkeypatch.setattr(registry, "entry_points", with_extra)
    registry.refresh()
    yield register
    registry.refresh()
