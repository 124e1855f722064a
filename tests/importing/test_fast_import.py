"""The fast path of an import (#17 item 3): it stores what the row path stores, and a file
it cannot read exactly, or with a bad row, goes to the row path (FILE:LINE, nothing kept)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from annotate.errors import InvalidInput
from annotate.io.importing import import_file
from annotate.io.importing.context import ReadContext
from annotate.io.importing.fast_path import NotFast, read_fast
from annotate.projects.policy import RoutingPolicy
from annotate.store.engine import Store
from annotate.store.models import Item, Project, Task
from tests.importing.conftest import MakeProject, WriteFile
from tests.importing.helpers import CLASSES, counts

DOUBLE = RoutingPolicy(human_annotations=1, llm_annotations=1, double_annotation_share=0.5)

# name -> (file name, content): each one the fast path reads
FAST_FILES = {
    "csv with meta": ("a.csv", "id,text,source\n1,hello,web\n2,world,mail\n3,again,web\n"),
    "csv quoted newlines and quotes": (
        "b.csv", 'id,text\nx1,"line one\nline two"\nx2,"she said ""hi"", then left"\n'
                 'x3,"a,b\r\nc"\nx4,plain\n'),
    "csv Cyrillic and emoji": ("c.csv", "id,text,lang\nр1,Привет, мир,ru\nр2,🎉 fête 😀,fr\n"
                               .replace("Привет, мир", '"Привет, мир"')),
    "csv no id column": ("d.csv", "text,source\nfirst,web\nsecond,chat\nthird,web\n"),
    "csv crlf and bom": ("e.csv", "\ufeffid,text\r\n1,a\r\n2,b\r\n"),
    "csv ids with spaces": ("f.csv", "id,text\n  7 ,seven\n8,eight\n"),
    "csv labelled columns as meta": ("g.csv", "text,annotator,label\nx,ann,pos\ny,ann,neg\n"),
    "tsv": ("h.tsv", 'id\ttext\tsrc\n1\ta "quoted" word\tweb\n2\tb\tmail\n'),
    "jsonl": ("i.jsonl", '{"id": "a", "text": "Привет 😀", "src": "web"}\n'
                         '{"id": "b", "text": "line\\nbreak", "src": "chat"}\n'),
    "jsonl integer ids": ("j.jsonl", '{"id": 1, "text": "one"}\n{"id": 2, "text": "two"}'),
    "jsonl no id": ("k.jsonl", '{"text": "one"}\n{"text": "two"}\n'),
}


def _items(store: Store, project: str) -> list[tuple[Any, ...]]:
    with store.session() as session:
        pid = session.scalar(select(Project.id).where(Project.name == project))
        rows = session.execute(select(Item.external_id, Item.text, Item.meta, Item.data,
                                      Item.synthetic).where(Item.project_id == pid)
                               .order_by(Item.id)).all()
        return [tuple(row) for row in rows]


def _tasks(store: Store, project: str) -> list[tuple[Any, ...]]:
    with store.session() as session:
        pid = session.scalar(select(Project.id).where(Project.name == project))
        rows = session.execute(
            select(Item.external_id, Task.role, Task.worker_kind, Task.slot, Task.status,
                   Task.priority, Task.max_attempts)
            .join(Item, Item.id == Task.item_id).where(Task.project_id == pid)
            .order_by(Task.id)).all()
        return [tuple(row) for row in rows]


@pytest.mark.parametrize("case", sorted(FAST_FILES))
def test_fast_and_row_path_store_the_same_items_and_tasks(
        case: str, store: Store, make_project: MakeProject, write_file: WriteFile) -> None:
    name, content = FAST_FILES[case]
    path = write_file(name, content)
    fmt = "csv" if name.endswith((".csv", ".tsv")) else "jsonl"
    read_fast(ReadContext(path=path, schema=CLASSES), fmt)  # no NotFast: this path reads it
    fast = import_file(store, make_project("fast", CLASSES, DOUBLE), path)
    row = import_file(store, make_project("row", CLASSES, DOUBLE), path, fast=False)
    assert (fast.items, fast.tasks, fast.format) == (row.items, row.tasks, row.format)
    assert _items(store, "fast") == _items(store, "row")
    assert _tasks(store, "fast") == _tasks(store, "row")
    assert fast.items == len(_items(store, "fast")) and fast.tasks == len(_tasks(store, "fast"))


def test_quoted_newlines_keep_the_texts_and_items_without_ids_take_their_lines(
        store: Store, make_project: MakeProject, write_file: WriteFile) -> None:
    path = write_file("q.csv", 'id,text\n1,"two\nlines"\n2,"a ""b"""\n')
    import_file(store, make_project("p", CLASSES), path)
    assert [(ext, text) for ext, text, *_ in _items(store, "p")] == [
        ("1", "two\nlines"), ("2", 'a "b"')]
    no_ids = write_file("n.csv", "text\nfirst\nsecond\n")
    import_file(store, make_project("n", CLASSES), no_ids)
    assert [ext for ext, *_ in _items(store, "n")] == ["n-2", "n-3"]


BAD_FILES = {
    # name -> (file name, content, line the message names, what it says)
    "csv empty text after a quoted newline": (
        "bad.csv", 'id,text\n1,"a\nb"\n2,ok\n3,   \n4,d\n', 5, "missing or empty text"),
    "csv duplicate id": ("dup.csv", "id,text\n1,a\n2,b\n1,c\n", 4, "duplicate id '1'"),
    "csv text after a closing quote": ("q.csv", 'id,text\n1,a\n2,"b"c\n3,d\n', 3, "bad CSV"),
    "csv unclosed quote": ("u.csv", 'id,text\n1,a\n2,"b\n', 3, "bad CSV"),
    "csv too many fields": ("f.csv", "id,text\n1,a\n2,b,c\n3,d\n", 3, "3 fields"),
    "csv NUL": ("n.csv", "id,text\n1,a\n2,b\x00c\n", 3, "NUL"),
    "csv empty id": ("e.csv", "id,text\n1,a\n ,b\n", 3, "empty id"),
    "csv lone carriage return": ("r.csv", "id,text\n1,a\r2,b\n", 2, "bad CSV"),
    "jsonl empty text": ("j.jsonl", '{"id": "a", "text": "x"}\n{"id": "b", "text": " "}\n',
                         2, "missing or empty text"),
    "jsonl two objects on a line": (
        "t.jsonl", '{"id": "a", "text": "x"}\n{"id": "b", "text": "y"} {"id": "c", "text": "z"}\n',
        2, "bad JSON"),
    "jsonl bad UTF-8": ("b.jsonl", b'{"id": "a", "text": "x"}\n{"id": "b", "text": "\xc3("}\n',
                        2, "not valid UTF-8"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_row_in_the_middle_names_its_line_and_leaves_nothing(
        case: str, store: Store, make_project: MakeProject, write_file: WriteFile) -> None:
    name, content, line, what = BAD_FILES[case]
    path = write_file(name, content)
    make_project("p", CLASSES, DOUBLE)
    with pytest.raises(InvalidInput) as err:
        import_file(store, "p", path)
    message = str(err.value)
    assert message.startswith(f"{path}:{line}: ") and what in message, message
    assert counts(store, "p") == {"items": 0, "annotations": 0, "tasks": 0}


def test_an_id_already_in_the_project_names_its_line_and_adds_nothing(
        store: Store, make_project: MakeProject, write_file: WriteFile) -> None:
    make_project("p", CLASSES, DOUBLE)
    import_file(store, "p", write_file("first.csv", "id,text\n1,a\n2,b\n"))
    before = counts(store, "p")
    with pytest.raises(InvalidInput, match=r"second\.csv:4: id '2' is already in the project"):
        import_file(store, "p", write_file("second.csv", "id,text\n3,c\n4,d\n2,again\n"))
    assert counts(store, "p") == before
    result = import_file(store, "p", write_file("third.csv", "id,text\n3,c\n4,d\n"))
    assert result.items == 2 and counts(store, "p")["items"] == 4


ROW_PATH_FILES = {
    "csv quoted newline and no id column": ("a.csv", 'text\n"two\nlines"\nnext\n'),
    "csv blank line and no id column": ("b.csv", "text\nfirst\n\nsecond\n"),
    "jsonl nested meta": ("c.jsonl", '{"id": "a", "text": "x", "meta": {"k": 1}}\n'),
    "jsonl null value": ("d.jsonl", '{"id": "a", "text": "x", "k": null}\n'),
    "jsonl a key missing on a line": ("e.jsonl", '{"id": "a", "text": "x", "k": "v"}\n'
                                                 '{"id": "b", "text": "y"}\n'),
    "jsonl numbers": ("f.jsonl", '{"id": "a", "text": "x", "n": 1}\n'
                                 '{"id": "b", "text": "y", "n": 1.5}\n'),
    "jsonl blank line": ("g.jsonl", '{"id": "a", "text": "x"}\n\n{"id": "b", "text": "y"}\n'),
}


@pytest.mark.parametrize("case", sorted(ROW_PATH_FILES))
def test_what_the_fast_path_cannot_read_exactly_goes_to_the_row_path(
        case: str, sqlite_store: Store, tmp_path: Path) -> None:
    from annotate.projects.catalog import create_project

    name, content = ROW_PATH_FILES[case]
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(NotFast):
        read_fast(ReadContext(path=path, schema=CLASSES), "csv" if name.endswith(".csv")
                  else "jsonl")
    with sqlite_store.session() as session:
        create_project(session, "p", CLASSES)
    result = import_file(sqlite_store, "p", path)  # the row path reads it as before
    assert result.items == len(_items(sqlite_store, "p")) > 0


def test_the_row_paths_line_names_for_items_without_ids(sqlite_store: Store,
                                                         tmp_path: Path) -> None:
    from annotate.projects.catalog import create_project

    path = tmp_path / "lines.csv"
    path.write_text('text\n"two\nlines"\n\nnext\n', encoding="utf-8")
    with sqlite_store.session() as session:
        create_project(session, "p", CLASSES)
    import_file(sqlite_store, "p", path)
    assert [ext for ext, *_ in _items(sqlite_store, "p")] == ["lines-2", "lines-5"]
