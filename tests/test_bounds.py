"""Policy and schema values have bounds: bad ones are one-line errors (exit 2), never stored."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from sqlalchemy import update

from annotate.cli.main import main
from annotate.errors import InvalidInput
from annotate.kinds.schema import LabelSchema, parse_schema
from annotate.projects.catalog import create_project, get_project, project_policy
from annotate.projects.policy import MAX_LEASE_SECONDS, RoutingPolicy, parse_policy
from annotate.store.engine import Store
from annotate.store.models import Project

BAD_POLICIES = [
    ({"llm_priority": 10**30}, "llm_priority"),
    ({"human_priority": -(2**31)}, "human_priority"),
    ({"max_attempts": 10**20}, "max_attempts"),
    ({"max_attempts": 0}, "max_attempts"),
    ({"lease_seconds": 10**12}, "lease_seconds"),
    ({"lease_seconds": 0}, "lease_seconds"),
    ({"human_annotations": -1}, "human_annotations"),
    ({"human_annotations": 21}, "human_annotations"),
    ({"human_annotations": True}, "human_annotations"),
    ({"llm_annotations": 11}, "llm_annotations"),
    ({"adjudicate_below": 1.5}, "adjudicate_below"),
    ({"double_annotation_share": -0.1}, "double_annotation_share"),
    ({"human_below_confidence": 2}, "human_below_confidence"),
    ({"moderator_model": "a\nb"}, "moderator_model"),
    ({"moderator_model": "x" * 201}, "moderator_model"),
    ({"no_such_setting": 1}, "no_such_setting"),
]
NON_FINITE = ["adjudicate_below", "double_annotation_share", "human_below_confidence"]


@pytest.mark.parametrize(("data", "field"), BAD_POLICIES)
def test_out_of_bounds_policy_values_are_refused_naming_the_field(data: dict[str, object],
                                                                  field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_policy(data, source="p.json")
    message = str(err.value)
    assert message.startswith(f"p.json: {field}:") and "\n" not in message


@pytest.mark.parametrize("field", NON_FINITE)
@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_refused(field: str, number: float) -> None:
    with pytest.raises(InvalidInput, match=f"{field}: Input should be a finite number"):
        parse_policy({field: number})


def test_a_policy_is_an_object() -> None:
    with pytest.raises(InvalidInput, match="a policy is an object"):
        parse_policy([], source="p.json")


def test_the_limits_themselves_are_accepted() -> None:
    policy = parse_policy({"lease_seconds": MAX_LEASE_SECONDS, "max_attempts": 100,
                           "human_annotations": 20, "llm_priority": -1_000_000,
                           "human_priority": 1_000_000, "adjudicate_below": 1.0})
    assert policy.lease_seconds == MAX_LEASE_SECONDS and policy.human_priority == 1_000_000


BAD_SCHEMAS = [
    ([], "classification", "a schema is a JSON object"),
    ("labels", "classification", "a schema is a JSON object"),
    ({"kind": "spans", "labels": ["PER"]}, "classification", "the schema's kind is 'spans'"),
    ({"labels": ["a", "a"]}, "classification", "repeated: 'a'"),
    ({"labels": []}, "multilabel", "a multilabel schema needs labels"),
    ({"labels": ["a", " "]}, "classification", "must not be empty"),
    ({"labels": ["a", "b\x00"]}, "classification", "control characters"),
    ({"labels": ["a", "x" * 101]}, "classification", "longer than 100"),
    ({"labels": [str(i) for i in range(1001)]}, "classification", "at most 1000"),
    ({"options": ["a", "a"]}, "choice", "repeated"),
    ({"options": ["a", "tie"]}, "choice", "reserved for ties"),
    ({"features": [{"name": "q", "scale": [1, 10**12]}]}, "rating", "out of range"),
    ({"features": [{"name": "q", "scale": [1, 1]}]}, "rating", "unique"),
    ({"features": [{"name": "q", "scale": [1]}]}, "rating", "at least 2"),
    ({"features": [{"name": "q", "scale": list(range(101))}]}, "rating", "at most 100"),
    ({"features": [{"name": "q", "scale": [True, False]}]}, "rating", "not true/false"),
    ({"features": [{"name": "q", "scale": [1, 2]}, {"name": "q", "scale": [1, 2]}]},
     "rating", "feature names must be unique"),
    ({"max_text_length": 0}, "text", "max_text_length"),
]


@pytest.mark.parametrize(("data", "kind", "message"), BAD_SCHEMAS)
def test_bad_schemas_are_one_line_errors(data: object, kind: str, message: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_schema(data, kind, source="s.json")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_schema_without_kind_takes_the_option_s_kind() -> None:
    assert parse_schema({"labels": ["a", "b"]}, "multilabel").kind == "multilabel"
    assert parse_schema({"kind": "spans", "labels": ["PER"]}, "spans").labels == ["PER"]


def test_default_schema_refuses_duplicate_labels() -> None:
    with pytest.raises(InvalidInput, match="labels must be unique"):
        LabelSchema.default("classification", ["a", "a"])
    with pytest.raises(InvalidInput, match="options must be unique"):
        LabelSchema.default("choice", ["x", "x"])


@pytest.mark.parametrize("budget", [math.nan, math.inf, -1.0])
def test_a_budget_is_finite_and_not_negative(sqlite_store: Store, budget: float) -> None:
    with sqlite_store.session() as session, pytest.raises(InvalidInput, match="budget"):
        create_project(session, "p", LabelSchema.default("classification", ["a", "b"]),
                       budget_usd=budget)


def test_a_stored_policy_out_of_bounds_is_an_error_saying_how_to_fix_it(
        sqlite_store: Store) -> None:
    with sqlite_store.session() as session:
        create_project(session, "p", LabelSchema.default("classification", ["a", "b"]))
    with sqlite_store.session() as session:  # written before the bounds existed
        policy = RoutingPolicy().model_dump(mode="json") | {"llm_priority": 10**30}
        session.execute(update(Project).values(policy_json=policy))
    with sqlite_store.session() as session, pytest.raises(InvalidInput,
                                                          match="annotate policy set"):
        project_policy(get_project(session, "p"))


# The command line: exit 2, one line on stderr, no traceback, nothing stored.

def _cli(db: str, *args: str) -> int:
    return main(["--db", db, *args])


def _files(tmp: Path) -> dict[str, Path]:
    deep = tmp / "deep.json"
    deep.write_text("[" * 100_000, encoding="utf-8")
    files = {"deep": deep}
    for name, data in {"list": [], "spans": {"kind": "spans", "labels": ["PER"]},
                       "dup": {"labels": ["a", "a"]}, "empty": {"labels": ["", "b"]}}.items():
        path = tmp / f"{name}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        files[name] = path
    latin = tmp / "latin.json"
    latin.write_bytes(b'{"blind": "\xe9"}')
    files["latin"] = latin
    return files


CREATE_BAD = [
    (["--labels", "a,a"], "repeated: 'a'"),
    (["--labels", "a," + "x" * 101], "longer than 100"),
    (["--schema", "{list}"], "a schema is a JSON object"),
    (["--schema", "{spans}"], "kinds"),
    (["--schema", "{dup}"], "repeated"),
    (["--schema", "{empty}"], "must not be empty"),
    (["--schema", "{deep}"], "cannot read schema"),
    (["--labels", "a,b", "--budget", "nan"], "budget"),
    (["--labels", "a,b", "--budget", "inf"], "budget"),
    (["--labels", "a,b", "--budget", "-1"], "budget"),
    (["--labels", "a,b", "--policy", "{latin}"], "not valid UTF-8"),
    (["--labels", "a,b", "--policy", "{deep}"], "not valid json"),
]


@pytest.mark.parametrize(("args", "message"), CREATE_BAD)
def test_project_create_refuses_bad_values(tmp_path: Path, args: list[str], message: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    files = _files(tmp_path)
    args = [a.format(**files) if a.startswith("{") else a for a in args]
    code = _cli(db, "project", "create", "p", "--kind", "classification", *args)
    err = capsys.readouterr().err
    if message == "kinds":
        message = "the schema's kind is 'spans' but --kind is 'classification'"
    assert code == 2, err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert _cli(db, "project", "list", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []


def test_policy_set_refuses_a_huge_integer_and_imports_keep_working(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    assert _cli(db, "project", "create", "p", "--kind", "classification", "--labels", "a,b") == 0
    bad = tmp_path / "policy.json"
    bad.write_text(json.dumps({"llm_priority": 10**30}), encoding="utf-8")
    capsys.readouterr()
    assert _cli(db, "policy", "set", "p", str(bad)) == 2
    err = capsys.readouterr().err
    assert "llm_priority" in err and "Traceback" not in err
    data = tmp_path / "items.csv"
    data.write_text("id,text\na,one\nb,two\n", encoding="utf-8")
    assert _cli(db, "import", "p", str(data)) == 0
    capsys.readouterr()
    assert _cli(db, "policy", "show", "p", "--json") == 0
    assert json.loads(capsys.readouterr().out)["llm_priority"] == 0
