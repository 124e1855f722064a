"""A task kind has one home (#14 item 1): no code outside ``annotate/kinds/`` branches on a
built-in kind's name. The scan reads the source (AST) of ``annotate/``, ``roles/``, ``ui/``
and ``guidelines/`` for a kind name used in an ``==``/``!=``/``in``/``not in`` comparison,
a ``match`` case, or as a dict key; each legitimate use is allowed below with its reason.
``"text"`` is also every item's text field, so it counts only when compared with something
called ``kind`` (``schema.kind == "text"``)."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest

from annotate.kinds.registry import BUILTIN

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("annotate", "roles", "ui", "guidelines")
KIND_HOME = ROOT / "annotate" / "kinds"
NAMES = frozenset(BUILTIN) - {"text"}
ALLOWED: dict[tuple[str, str], str] = {
    ("annotate/agreement/reporting.py", "spans"):
        "compares the kind's agreement measure (TaskKind.agreement), not a kind name",
    ("annotate/integrations/labelstudio/config.py", "choice"):
        "a Label Studio XML tag (<Choice>), not a kind name",
    ("annotate/integrations/labelstudio/config.py", "rating"):
        "a Label Studio XML tag (<Rating>), not a kind name",
    ("annotate/io/importing/formats.py", "spans"):
        "a field of the spans-jsonl file format (format detection), not a kind name",
    ("annotate/io/importing/jsonl_formats.py", "spans"):
        "the spans-jsonl format's gold answers, read as they are written",
    ("annotate/replay/dataset.py", "classification"):
        "a dataset adapter: the recorded datasets' label order and guideline",
    ("annotate/replay/dataset.py", "choice"):
        "a dataset adapter: a recorded label becomes a choice or a label answer",
}
NOT_YET_MOVED: dict[tuple[str, str], str] = {
    ("annotate/services/workspace.py", "text"):
        "the workspace treats a text task's Helper candidates as its answer choices (no "
        "prelabel shown or preselected); owned by the workspace engineer, to become a kind "
        "member",
    ("ui/views/workspace.py", "text"):
        "the same: no prelabel buttons for a text task; to become a kind member",
}
"""Per-kind branches that are known and not moved yet (outside this work's files): listed so
that no new one appears; remove an entry when its branch is gone."""


def kind_names_in(node: ast.AST, names: frozenset[str] = NAMES) -> list[str]:
    """The kind names a constant (or a tuple, list or set of constants) spells."""
    if isinstance(node, ast.Constant) and node.value in names:
        return [str(node.value)]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [name for element in node.elts for name in kind_names_in(element, names)]
    return []


def names_a_kind(node: ast.AST) -> bool:
    """``kind``, ``schema.kind``, ``project.kind``, ...: an expression that holds a kind."""
    name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", "")
    return name == "kind" or name.endswith("_kind")


COMPARISONS = (ast.Eq, ast.NotEq, ast.In, ast.NotIn)


def branches(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, kind name) of every comparison, match case and dict key naming a kind."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(isinstance(op, COMPARISONS)
                                                 for op in node.ops):
            sides = (node.left, *node.comparators)
            names = NAMES | ({"text"} if any(map(names_a_kind, sides)) else set())
            found += [(node.lineno, name) for side in sides
                      for name in kind_names_in(side, names)]
        elif isinstance(node, ast.Dict):
            found += [(key.lineno, name) for key in node.keys if key is not None
                      for name in kind_names_in(key)]
        elif isinstance(node, ast.MatchValue):
            found += [(node.lineno, name) for name in kind_names_in(node.value)]
    return found


def scan() -> Counter[tuple[str, str]]:
    found: Counter[tuple[str, str]] = Counter()
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            if path.is_relative_to(KIND_HOME):
                continue
            where = path.relative_to(ROOT).as_posix()
            for _, name in branches(ast.parse(path.read_text(encoding="utf-8"))):
                found[(where, name)] += 1
    return found


def test_no_code_outside_the_kinds_branches_on_a_kind_name() -> None:
    unexplained = sorted(set(scan()) - set(ALLOWED) - set(NOT_YET_MOVED))
    assert not unexplained, (
        "a per-kind branch outside annotate/kinds/: ask the kind (a TaskKind member, or an "
        "optional one in annotate/kinds/optional.py) instead, or allow it here with its "
        f"reason: {unexplained}")


@pytest.mark.parametrize("source", [
    'if schema.kind == "choice": pass',
    'ok = "rating" != kind',
    'ok = kind in ("classification", "multilabel")',
    'TABLE = {"spans": 1}',
    'match kind:\n    case "choice": pass',
    'if schema.kind == "text": pass',
    'if "text" != project.task_kind: pass',
])
def test_the_scan_finds_each_form_of_a_kind_branch(source: str) -> None:
    assert branches(ast.parse(source))


@pytest.mark.parametrize("source", [
    'name = "choice"',                # an assignment is not a branch
    'if kind == get_kind(k).name: pass',
    'if column == "text": pass',      # "text" is every item's field: not scanned
    'value = {"label": x}',
])
def test_the_scan_leaves_other_uses_alone(source: str) -> None:
    assert not branches(ast.parse(source))


def test_the_names_are_the_registered_builtins() -> None:
    assert {"classification", "multilabel", "spans", "rating", "choice"} == NAMES


def test_the_scan_reads_the_tree() -> None:
    """The scan finds the allowed uses it is told about (it looks where the code is)."""
    assert set(scan()) & set(ALLOWED)
