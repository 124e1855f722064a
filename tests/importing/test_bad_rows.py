"""Every kind of bad row stops the import with ``FILE:LINE: what is wrong`` and stores nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from annotate.errors import InvalidInput
from annotate.io.importing import import_file
from annotate.kinds.schema import LabelSchema
from annotate.projects.catalog import create_project, get_project
from annotate.store.engine import Store
from annotate.store.models import Project
from tests.importing.conftest import MakeProject, WriteFile
from tests.importing.helpers import CHOICE, CLASSES, SPANS, counts

CASES: list[tuple[str, str, str | bytes, LabelSchema, str]] = [
    # (case, file name, content, schema, expected message after "FILE:")
    ("csv empty text", "t.csv", "id,text\na,hello\nb,\n", CLASSES, "3: missing or empty text"),
    ("csv blank text", "t.csv", "id,text\na,hello\nb,   \n", CLASSES, "3: missing or empty text"),
    ("csv no text column", "t.csv", "id,body\na,hi\n", CLASSES,
     "1: no 'text' column (columns: id, body)"),
    ("csv embedded newlines before the bad row", "t.csv",
     'id,text\na,"line one\nline two\nline three"\nb,"x"\nc,\n', CLASSES,
     "6: missing or empty text"),
    ("csv bad record that spans lines", "t.csv",
     'id,text,extra\na,"multi\nline",x\nb,"two\nlines"\n', CLASSES,
     "4: 2 fields but the header has 3"),
    ("csv unterminated quote", "t.csv", 'id,text\na,ok\nb,"never closed\nc,more\n', CLASSES,
     "3: bad CSV: unexpected end of data"),
    ("csv undecodable bytes", "t.csv", b"id,text\na,ok\nb,caf\xff\n", CLASSES,
     "3: not valid UTF-8 (byte 0xff at column 6)"),
    ("csv duplicate id", "t.csv", "id,text\na,x\nb,y\na,z\n", CLASSES,
     "4: duplicate id 'a' (first at line 2)"),
    ("csv empty id", "t.csv", "id,text\na,x\n,y\n", CLASSES, "3: empty id"),
    ("csv id too long", "t.csv", f"id,text\n{'x' * 201},y\n", CLASSES,
     "2: id is longer than 200 characters"),
    ("csv empty file", "t.csv", "", CLASSES, "1: the file is empty (no header)"),
    ("csv header only", "t.csv", "id,text\n", CLASSES, "1: no items in the file"),
    ("jsonl bad json", "t.jsonl", '{"id": "a", "text": "x"}\n{"id": "b", "text": "y"\n',
     CLASSES, "2: bad JSON: Expecting ',' delimiter (column 24)"),
    ("jsonl missing text", "t.jsonl", '{"id": "a", "text": "x"}\n{"id": "b"}\n', CLASSES,
     "2: missing or empty text"),
    ("jsonl text not a string", "t.jsonl", '{"id": "a", "text": 5}\n', CLASSES,
     "1: text must be a string, not int"),
    ("jsonl text with a NUL", "t.jsonl", '{"id": "a", "text": "x\\u0000y"}\n', CLASSES,
     "1: text contains a NUL character"),
    ("jsonl array file", "t.json", '[\n{"id": "a", "text": "x"}\n]\n', CLASSES,
     "1: bad JSON: Expecting value (column 2) (expected one JSON object per line)"),
    ("jsonl not an object", "t.jsonl", '{"id": "a", "text": "x"}\n[1, 2]\n', CLASSES,
     "2: expected a JSON object, got list"),
    ("jsonl undecodable bytes", "t.jsonl",
     b'\xef\xbb\xbf{"id": "a", "text": "x"}\n{"id": "b", "text": "\xc3("}\n', CLASSES,
     "2: not valid UTF-8 (byte 0xc3 at column 22)"),
    ("jsonl duplicate id, int and str", "t.jsonl",
     '\n{"id": 1, "text": "x"}\n\n{"id": "1", "text": "y"}\n', CLASSES,
     "4: duplicate id '1' (first at line 2)"),
    ("labelled csv label not in schema", "t.csv",
     "item_id,text,annotator,label\na,hello,ann1,pos\na,hello,ann2,maybe\n", CLASSES,
     "3: ann2: label 'maybe' is not in the schema (pos, neg)"),
    ("labelled csv rows of an item apart", "t.csv",
     "item_id,text,annotator,label\na,hi,x,pos\nb,yo,x,neg\na,hi,y,pos\n", CLASSES,
     "4: item 'a' appears again after other items (its rows start at line 2); "
     "keep an item's rows together"),
    ("labelled csv text differs", "t.csv",
     "item_id,text,annotator,label\na,hi,x,pos\na,HI,y,pos\n", CLASSES,
     "3: text of item 'a' differs from its first row (line 2)"),
    ("labelled csv annotator twice", "t.csv",
     "item_id,text,annotator,label\na,hi,x,pos\na,hi,x,neg\n", CLASSES,
     "3: x answers this item twice (lines 2 and 3)"),
    ("labelled csv bad annotator kind", "t.csv",
     "item_id,text,annotator,annotator_kind,label\na,hi,x,robot,pos\n", CLASSES,
     "2: annotator kind 'robot' is not one of human, llm"),
    ("labelled csv missing annotator", "t.csv",
     "item_id,text,annotator,label\na,hi,x,pos\nb,yo,,pos\n", CLASSES,
     "3: missing or empty annotator"),
    ("spans outside the text", "t.jsonl",
     '{"id": "s0", "text": "Москва", "spans": []}\n'
     '{"id": "s1", "text": "Анна пришла", "spans": [{"start": 0, "end": 40, "label": "PER"}]}\n',
     SPANS, "2: gold: span 0-40 (PER) is outside the text (length 11)"),
    ("spans label not in schema", "t.jsonl",
     '{"id": "s1", "text": "Анна пришла", "spans": [{"start": 0, "end": 4, "label": "MISC"}]}\n',
     SPANS, "1: gold: label 'MISC' is not in the schema (PER, ORG, LOC, LOCORG)"),
    ("spans quote does not match", "t.jsonl",
     '{"id": "s1", "text": "Анна пришла", '
     '"spans": [{"start": 0, "end": 4, "label": "PER", "text": "Иван"}]}\n',
     SPANS, "1: gold: span 0-4 quotes 'Иван' but the text there is 'Анна'"),
    ("spans not a list", "t.jsonl", '{"id": "s1", "text": "Анна", "spans": {"a": 1}}\n',
     SPANS, "1: 'spans' must be a list, not dict"),
    ("pairwise choice not an option", "t.jsonl",
     '{"id": "p1", "instruction": "Say hi", "response1": "hi", "response2": "hello", '
     '"human_labels": {"a1": "response3"}}\n', CHOICE,
     "1: a1: choice 'response3' is not one of response1, response2, tie"),
    ("pairwise option missing", "t.jsonl",
     '{"id": "p1", "instruction": "Say hi", "response1": "hi", "human_labels": {}}\n', CHOICE,
     "1: no 'response2' (the project's options are response1, response2)"),
    ("export annotation kind", "t.jsonl",
     '{"id": "a", "text": "x", "annotations": [{"annotator_id": "w", '
     '"annotator_kind": "robot", "value": {"label": "pos"}}]}\n', CLASSES,
     "1: annotations.0.annotator_kind: Input should be 'human' or 'llm'"),
    ("export role too long", "t.jsonl",
     '{"id": "a", "text": "x", "annotations": [{"annotator_id": "w", "annotator_kind": "llm", '
     f'"role": "{"r" * 33}", "value": {{"label": "pos"}}}}]}}\n', CLASSES,
     "1: annotations.0.role: String should have at most 32 characters"),
    ("export value not in schema", "t.jsonl",
     '{"id": "a", "text": "x", "annotations": [{"annotator_id": "w", "annotator_kind": "llm", '
     '"value": {"label": "meh"}}]}\n', CLASSES,
     "1: w: label 'meh' is not in the schema (pos, neg)"),
]


@pytest.mark.parametrize(("name", "content", "schema", "expected"),
                         [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_bad_row_imports_nothing(store: Store, make_project: MakeProject, write_file: WriteFile,
                                 name: str, content: str | bytes, schema: LabelSchema,
                                 expected: str) -> None:
    project = make_project("p", schema)
    path = write_file(name, content)
    with pytest.raises(InvalidInput) as caught:
        import_file(store, project, path, batch_size=1)  # earlier rows were already written
    assert str(caught.value) == f"{path}:{expected}"
    assert counts(store, project) == {"items": 0, "annotations": 0, "tasks": 0}


def test_id_already_in_the_project(store: Store, make_project: MakeProject,
                                   write_file: WriteFile) -> None:
    project = make_project("p", CLASSES)
    first = write_file("first.csv", "id,text\na,one\nb,two\n")
    import_file(store, project, first)
    before = counts(store, project)
    second = write_file("second.csv", "id,text\nc,three\nb,again\n")
    with pytest.raises(InvalidInput) as caught:
        import_file(store, project, second)
    assert str(caught.value) == f"{second}:3: id 'b' is already in the project"
    assert counts(store, project) == before


def test_reimporting_the_same_file_is_a_clear_error(store: Store, make_project: MakeProject,
                                                    write_file: WriteFile) -> None:
    project = make_project("p", CLASSES)
    path = write_file("labels.csv", "item_id,text,annotator,label\na,hi,x,pos\na,hi,y,neg\n")
    import_file(store, project, path)
    before = counts(store, project)
    with pytest.raises(InvalidInput, match=r"labels\.csv:2: id 'a' is already in the project"):
        import_file(store, project, path)
    assert counts(store, project) == before


def test_a_long_file_failing_at_the_end_stores_nothing(store: Store, make_project: MakeProject,
                                                       write_file: WriteFile) -> None:
    project = make_project("p", CLASSES)
    rows = "".join(f"{i},text {i}\n" for i in range(5000))
    path = write_file("long.csv", f"id,text\n{rows}5000,\n")
    with pytest.raises(InvalidInput, match=r"long\.csv:5002: missing or empty text"):
        import_file(store, project, path, batch_size=500)
    assert counts(store, project) == {"items": 0, "annotations": 0, "tasks": 0}


def test_in_a_callers_session_only_the_import_is_undone(store: Store,
                                                         write_file: WriteFile) -> None:
    path = write_file("bad.csv", "id,text\na,fine\nb,\n")
    with store.session() as session:
        create_project(session, "mine", CLASSES)
        with pytest.raises(InvalidInput, match=r"bad\.csv:3: missing or empty text"):
            import_file(session, get_project(session, "mine"), path, batch_size=1)
    with store.session() as session:  # the caller's project creation was committed
        assert session.scalar(select(Project.name).where(Project.name == "mine")) == "mine"
    assert counts(store, "mine")["items"] == 0


def test_unknown_format_and_missing_file(store: Store, make_project: MakeProject,
                                         write_file: WriteFile) -> None:
    project = make_project("p", CLASSES)
    path = write_file("ok.csv", "text\nhello\n")
    with pytest.raises(InvalidInput, match="unknown import format 'xml'"):
        import_file(store, project, path, fmt="xml")
    missing = path.with_name("missing.csv")
    with pytest.raises(InvalidInput, match=f"{missing}: cannot read: No such file"):
        import_file(store, project, missing)
