"""`annotate demo` shows the Helper (#19 item 5): a few user messages of the shipped slice get
candidate rewrites, printed best first with their scores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from annotate.cli.extra_cmds import _print_helper
from annotate.cli.main import main
from annotate.llm.gateway import Gateway, GatewaySettings
from annotate.llm.testing import Reply, install_fake, reply
from annotate.services.demo import HELPER_ITEMS, HELPER_PROJECT, run_demo
from annotate.store.engine import Store
from roles.runner import run_project


def _rewrites(model: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> Reply:
    """Two copies of the message and one rewrite, a different one for each seed."""
    item = messages[1]["content"].split("<item>")[1].split("</item>")[0].strip()
    lead = {None: "In other words", 1: "Put simply", 2: "That is to say"}[params.get("seed")]
    texts = [item, item.upper(), f"{lead}: {item}"]
    return reply(json.dumps({"candidates": [{"text": t} for t in texts]}))


def test_the_demo_runs_the_helper_and_prints_its_scored_candidates(
        sqlite_store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    fake = install_fake(responder=_rewrites)
    seen: list[str] = []

    def run_roles(name: str) -> dict[str, Any]:
        seen.append(name)
        if name != HELPER_PROJECT:
            return {}
        gateway = Gateway(sqlite_store, None, GatewaySettings(model="fake/m"))
        stats = run_project(sqlite_store, name, gateway, model="fake/m", roles=["helper"])
        return {"done": stats.done}

    summary = run_demo(sqlite_store, n_items=3, run_roles=run_roles)
    assert seen == ["convabuse-demo", HELPER_PROJECT]
    assert summary.helper_run == {"done": HELPER_ITEMS}
    assert len(summary.helper) == HELPER_ITEMS and fake.call_count > HELPER_ITEMS
    for item in summary.helper:
        texts = [c["text"] for c in item["candidates"]]
        assert item["text"] not in texts and item["text"].upper() not in texts  # no copies
        assert all(c["score"] is not None for c in item["candidates"]) and texts
        assert item["stats"]["dropped"]["copy_of_source"] == 2 * item["stats"]["calls"]
    _print_helper(summary.helper)
    printed = capsys.readouterr().out
    first = summary.helper[0]
    assert f"Helper ({HELPER_PROJECT})" in printed and repr(first["text"]) in printed
    assert f"1. {first['candidates'][0]['text']}  (score " in printed
    assert "meaning kept" in printed and "none fits - write my own" in printed
    assert "dropped: copy of source 6" in printed


def test_demo_json_has_the_helper_step(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    assert main(["--db", db, "demo", "--model", "dry-run", "--items", "5", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["run"]["by_role"]["annotator"] == 5  # the main job, as before
    assert summary["helper_run"]["by_role"] == {"helper": HELPER_ITEMS}
    assert [i["stats"]["asked"] for i in summary["helper"]] == [3] * HELPER_ITEMS
