"""The rules the layer contract cannot see (import-linter checks the layers themselves in
`make lint`): the project's own code is never loaded by name, and litellm has one door."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("annotate", "roles", "guidelines", "ui")
GATEWAY = "annotate/llm/gateway.py"
LOADERS = {"import_module", "__import__", "spec_from_file_location", "module_from_spec",
           "run_module", "run_path"}


def sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py")
                  if "migrations" not in p.parts)


def name_of(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def loads_by_name(tree: ast.AST) -> list[int]:
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call) and name_of(node) in LOADERS]


def imports_litellm(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "litellm"
                                                for a in node.names):
            lines.append(node.lineno)
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "litellm":
            lines.append(node.lineno)
    return lines


def test_the_scan_sees_the_sources() -> None:
    assert len(sources()) > 100
    assert any(p.as_posix().endswith(GATEWAY) for p in sources())


def test_no_module_loads_the_projects_code_by_name() -> None:
    found = [f"{p.relative_to(ROOT)}:{line}" for p in sources()
             for line in loads_by_name(ast.parse(p.read_text()))]
    assert found == [], "load plugins through entry points, import the rest: " + ", ".join(found)


def test_only_the_gateway_imports_litellm() -> None:
    found = [f"{p.relative_to(ROOT)}:{line}" for p in sources()
             if p.relative_to(ROOT).as_posix() != GATEWAY
             for line in imports_litellm(ast.parse(p.read_text()))]
    assert found == []
    assert imports_litellm(ast.parse((ROOT / GATEWAY).read_text()))


@pytest.mark.parametrize(("code", "expected"), [
    ("import importlib\nimportlib.import_module('roles.annotator')", [2]),
    ("from importlib import import_module\nimport_module('x')", [2]),
    ("__import__('roles')", [1]),
    ("from importlib.metadata import entry_points\nentry_points(group='g')", []),
])
def test_the_loader_scan_finds_what_it_looks_for(code: str, expected: list[int]) -> None:
    assert loads_by_name(ast.parse(code)) == expected


def test_the_litellm_scan_finds_what_it_looks_for() -> None:
    assert imports_litellm(ast.parse("import os\nimport litellm.utils\nfrom litellm import x")) \
        == [2, 3]
