"""Export for training (#20): a Hugging Face ``DatasetDict`` (``save_to_disk`` and Parquet)
with typed features and a split by distinct text, and a spaCy ``DocBin`` of the final spans;
both read back with the libraries themselves."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import datasets  # the dev extra installs both, as the export extra does
import pandas as pd
import pytest
import spacy
import spacy.tokens

from annotate.errors import InvalidInput, SetupError
from annotate.io.export_formats.hf_dataset import split_texts
from annotate.io.exporting import ExportResult, export_project
from annotate.io.importing import import_file
from annotate.kinds.schema import LabelSchema
from annotate.store.engine import Store
from tests.importing.conftest import MakeProject, WriteFile
from tests.importing.helpers import NO_TASKS

CLASSES = LabelSchema(kind="classification", labels=["POS", "NEG"])
MULTI = LabelSchema(kind="multilabel", labels=["радость", "гнев", "страх"])
SPANS = LabelSchema(kind="spans", labels=["PER", "LOC"], allow_nested=True)
RATING = LabelSchema.model_validate({"kind": "rating", "features": [
    {"name": "fluency", "scale": [1, 2, 3, 4, 5]}, {"name": "tone", "scale": ["злой", "ровный",
                                                                            "добрый"]}]})
MOSCOW = "Анна живёт в Москве 🏙️"  # Анна 0-4, Москве 13-19


def ann(who: str, value: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"annotator_id": who, "annotator_kind": "human", "value": value, **extra}


def export_jsonl(*items: dict[str, Any]) -> str:
    return "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items)


def labelled(store: Store, make_project: MakeProject, write_file: WriteFile,
             schema: LabelSchema, *items: dict[str, Any]) -> str:
    project = make_project("p", schema, NO_TASKS)
    import_file(store, project, write_file("p.jsonl", export_jsonl(*items)))
    return project


def export(store: Store, project: str, fmt: str, out: Path, **options: Any) -> ExportResult:
    with store.session() as session:
        return export_project(session, project, fmt, out, options=options or None)


# ---- hf ---------------------------------------------------------------------------------------

TEXTS = [f"Отзыв №{n} {'🙂' if n % 2 else '🙁'}" for n in range(12)]


def classified(store: Store, make_project: MakeProject, write_file: WriteFile) -> str:
    """12 texts, each twice (two items with the same text), a tie on one, a decision on one."""
    items = []
    for n, text in enumerate(TEXTS):
        label = "POS" if n % 2 else "NEG"
        for copy in ("a", "b"):
            items.append({"id": f"{n}{copy}", "text": text, "meta": {"n": n},
                          "annotations": [ann("anna", {"label": label}),
                                          ann("борис", {"label": label})]})
    items[0]["annotations"] = [ann("anna", {"label": "POS"}), ann("борис", {"label": "NEG"})]
    items[2]["annotations"].append(ann("lead", {"label": "NEG"}, role="adjudicator"))  # 1a
    return labelled(store, make_project, write_file, CLASSES, *items)


def test_hf_classification_is_typed_and_split_by_text(
        store: Store, make_project: MakeProject, write_file: WriteFile, tmp_path: Path) -> None:
    project = classified(store, make_project, write_file)
    out = tmp_path / "ds"
    result = export(store, project, "hf", out, seed=7, validation=0.25)
    dd = datasets.load_from_disk(str(out))
    assert set(dd) == {"train", "validation"}
    assert dd["train"].features["label"] == datasets.ClassLabel(names=["POS", "NEG"])
    rows = {r["id"]: r for split in dd.values() for r in split}
    assert len(rows) == 24
    assert rows["0a"]["label"] == -1 and rows["0a"]["final_source"] == "unresolved"
    assert (rows["1b"]["label"], rows["1b"]["final_source"]) == (0, "majority")
    assert (rows["1a"]["label"], rows["1a"]["final_source"]) == (1, "adjudicator")
    assert json.loads(rows["5b"]["meta"]) == {"n": 5} and rows["5b"]["n_answers"] == 2
    train, valid = ({r["text"] for r in dd[s]} for s in ("train", "validation"))
    assert not train & valid and len(valid) == 3  # a quarter of the 12 distinct texts
    for name in ("train", "validation"):  # the same rows as Parquet
        frame = pd.read_parquet(out / "data" / f"{name}.parquet")
        assert sorted(frame["id"]) == sorted(dd[name]["id"])
    assert "each of the 49 answers" in result.cannot_carry[0]
    assert "a final answer for 1 items" in result.cannot_carry[1]
    again = tmp_path / "again"
    export(store, project, "hf", again, seed=7, validation=0.25)
    assert datasets.load_from_disk(str(again))["validation"]["id"] == dd["validation"]["id"]


def test_the_split_is_seeded_and_keeps_both_sides() -> None:
    texts = [f"t{n}" for n in range(50)] * 2
    assert split_texts(texts, 0.2, 1) == split_texts(list(reversed(texts)), 0.2, 1)
    assert split_texts(texts, 0.2, 1) != split_texts(texts, 0.2, 2)
    assert len(split_texts(texts, 0.2, 1)) == 10
    assert len(split_texts(["a", "b"], 0.01, 0)) == 1 and split_texts(["a"], 0.5, 0) == set()


def test_hf_multilabel_spans_and_ratings_features(
        store: Store, make_project: MakeProject, write_file: WriteFile, tmp_path: Path) -> None:
    cases = [
        (MULTI, {"labels": ["радость", "страх"]}, "labels",
         datasets.List(datasets.ClassLabel(names=MULTI.labels)), [0, 2]),
        (SPANS, {"spans": [{"start": 0, "end": 4, "label": "PER"},
                           {"start": 13, "end": 19, "label": "LOC"}]}, "spans", None,
         [{"start": 0, "end": 4, "label": 0}, {"start": 13, "end": 19, "label": 1}]),
        (RATING, {"ratings": {"fluency": 4, "tone": "добрый"}}, "ratings", None,
         {"fluency": 4, "tone": 2}),
    ]
    for n, (schema, value, column, feature, expected) in enumerate(cases):
        project = make_project(f"p{n}", schema, NO_TASKS)
        import_file(store, project, write_file(f"p{n}.jsonl", export_jsonl(
            {"id": "x", "text": MOSCOW, "annotations": [ann("anna", value)]},
            {"id": "y", "text": "Пусто 🫙", "annotations": []})))
        out = tmp_path / f"ds{n}"
        export(store, project, "hf", out)
        dd = datasets.load_from_disk(str(out))
        rows = {r["id"]: r for split in dd.values() for r in split}
        assert rows["x"][column] == expected, schema.kind
        if feature is not None:
            assert dd["train"].features[column] == feature
    spans = datasets.load_from_disk(str(tmp_path / "ds1"))["train"].features["spans"]
    assert spans.feature["label"] == datasets.ClassLabel(names=["PER", "LOC"])


def test_hf_refuses_what_it_cannot_write(store: Store, make_project: MakeProject,
                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project("p", CLASSES)
    text = make_project("t", LabelSchema(kind="text"))
    with pytest.raises(InvalidInput, match="hf export cannot carry text answers"):
        export(store, text, "hf", tmp_path / "t")
    with pytest.raises(InvalidInput, match="--validation is a share"):
        export(store, project, "hf", tmp_path / "v", validation=1.5)
    with pytest.raises(InvalidInput, match="hf export takes --seed and --validation, not --lang"):
        export(store, project, "hf", tmp_path / "v", lang="ru")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(InvalidInput, match="not empty and not an earlier hf export"):
        export(store, project, "hf", tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text(encoding="utf-8") == "keep me"
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "datasets" else real(name, *a))
    with pytest.raises(SetupError, match=r"pip install 'annotate-platform\[export\]'"):
        export(store, project, "hf", tmp_path / "m")
    assert not (tmp_path / "v").exists() and not (tmp_path / "m").exists()


def test_an_earlier_hf_export_is_replaced_whole(store: Store, make_project: MakeProject,
                                                write_file: WriteFile, tmp_path: Path) -> None:
    project = classified(store, make_project, write_file)
    out = tmp_path / "ds"
    export(store, project, "hf", out, seed=1)
    export(store, project, "hf", out, seed=2)
    assert sorted(p.name for p in out.iterdir()) == ["data", "dataset_dict.json", "train",
                                                     "validation"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


# ---- spacy -------------------------------------------------------------------------------------


def test_spacy_docbin_holds_the_final_spans(store: Store, make_project: MakeProject,
                                            write_file: WriteFile, tmp_path: Path) -> None:
    both = {"spans": [{"start": 0, "end": 4, "label": "PER"},
                      {"start": 13, "end": 19, "label": "LOC"}]}
    project = labelled(
        store, make_project, write_file, SPANS,
        {"id": "x", "text": MOSCOW, "annotations": [
            ann("anna", both), ann("борис", both),
            ann("vera", {"spans": [{"start": 0, "end": 4, "label": "PER"}]})]},
        {"id": "cut", "text": "Привет 👋 Борис", "annotations": [ann("anna", {"spans": [
            {"start": 2, "end": 4, "label": "PER"}, {"start": 9, "end": 14, "label": "PER"}]})]},
        {"id": "nested", "text": "Москва-Сити", "annotations": [ann("anna", {"spans": [
            {"start": 0, "end": 11, "label": "LOC"}, {"start": 0, "end": 6, "label": "LOC"}]})]},
        {"id": "open", "text": "Пусто 🫙", "annotations": []})
    out = tmp_path / "p.spacy"
    result = export(store, project, "spacy", out, lang="ru")
    nlp = spacy.blank("ru")
    docs = {d.user_data["id"]: d for d in
            spacy.tokens.DocBin().from_disk(out).get_docs(nlp.vocab)}
    assert set(docs) == {"x", "cut", "nested"}
    assert [(e.start_char, e.end_char, e.label_) for e in docs["x"].ents] == [
        (0, 4, "PER"), (13, 19, "LOC")]
    assert [e.text for e in docs["x"].ents] == ["Анна", "Москве"]
    assert [(s.text, s.label_) for s in docs["cut"].spans["sc"]] == [("Борис", "PER")]
    assert len(docs["nested"].spans["sc"]) == 2 and len(docs["nested"].ents) == 1
    assert docs["x"].user_data["final_source"] == "majority"
    line = "; ".join(result.cannot_carry)
    assert "1 items without a final answer" in line
    assert "1 spans not aligned to tokens (alignment_mode=contract): cut:2-4:PER" in line
    assert "1 overlapping spans in doc.ents" in line


def test_spacy_refuses_a_project_without_spans(store: Store, make_project: MakeProject,
                                               tmp_path: Path) -> None:
    project = make_project("p", CLASSES)
    with pytest.raises(InvalidInput, match="spacy export is for span projects"):
        export(store, project, "spacy", tmp_path / "p.spacy")
    spans = make_project("s", SPANS)
    with pytest.raises(InvalidInput, match="--lang 'klingon' is not a language spaCy knows"):
        export(store, spans, "spacy", tmp_path / "s.spacy", lang="klingon")
    assert not list(tmp_path.glob("*.spacy"))


# ---- the command ---------------------------------------------------------------------------


def annotate(cwd: Path, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANNOTATE_DB": f"sqlite:///{cwd / 'cli.db'}", "COLUMNS": "200",
           "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-m", "annotate.cli.main", "--quiet", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == code, (args, proc.stdout, proc.stderr)
    return proc


def test_export_command_writes_hf_and_spacy_and_says_what_is_lost(tmp_path: Path) -> None:
    data = tmp_path / "ner.jsonl"
    data.write_text(json.dumps({"id": 1, "text": MOSCOW, "label": [[0, 4, "PER"]],
                                "user": "anna"}, ensure_ascii=False) + "\n", encoding="utf-8")
    annotate(tmp_path, "project", "create", "ner", "--kind", "spans", "--labels", "PER,LOC")
    annotate(tmp_path, "import", "ner", str(data))
    hf = annotate(tmp_path, "export", "ner", "--format", "hf")
    assert (tmp_path / "ner-hf" / "dataset_dict.json").exists()
    assert "hf cannot carry: each of the 1 answers" in hf.stderr
    sp = annotate(tmp_path, "export", "ner", "--format", "spacy", "--lang", "ru")
    assert (tmp_path / "ner.spacy").exists() and "spacy cannot carry:" in sp.stderr
    for args, error in [
        (["--format", "hf", "-o", "-"], "hf is a directory; write it with -o DIR"),
        (["--format", "jsonl", "--seed", "3"], "jsonl export takes no options (seed)"),
    ]:
        proc = annotate(tmp_path, "export", "ner", *args, code=2)
        assert error in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    annotate(tmp_path, "project", "create", "cls", "--kind", "classification", "--labels", "a,b")
    proc = annotate(tmp_path, "export", "cls", "--format", "spacy", code=2)
    assert "spacy export is for span projects" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "cls.spacy").exists()
