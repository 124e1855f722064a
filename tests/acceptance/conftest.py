"""A reader's working directory for the documented commands, and the services they name."""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.fake_openai import fake_openai_server
from tests.conftest import SHARED_DATA
from tests.labelstudio.conftest import label_studio

__all__ = ["label_studio"]

REVIEWS = {
    "pos": ["I love this phone", "Great service, thank you", "Wonderful film, I would watch it "
            "again", "Best meal I have had in years"],
    "neg": ["Terrible, it broke after a day", "Awful support, nobody answered",
            "The worst purchase I ever made", "A waste of money"],
    "neutral": ["It arrived on Tuesday", "The box is blue", "It has two buttons",
                "I bought it last week"],
}
N_ITEMS = sum(len(texts) for texts in REVIEWS.values())
POLICY = {"human_annotations": 1, "llm_annotations": 1, "human_below_confidence": 0.8}


def write_files(work: Path) -> None:
    """The files the documented commands name, small enough for the embedded model."""
    with (work / "data.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)  # long-form with people's labels: pilot and distill need them
        writer.writerow(["item_id", "text", "annotator", "label"])
        n = 0
        for label, texts in REVIEWS.items():
            for text in texts:
                n += 1
                for person in ("ann1", "ann2", "ann3"):
                    writer.writerow([f"r{n}", text, person, label])
    (work / "guideline.md").write_text(
        "# Reviews\n\nLabel the sentiment of the review: pos, neg or neutral.\n", "utf-8")
    (work / "schema.json").write_text(
        json.dumps({"kind": "classification", "labels": ["pos", "neg", "neutral"]}), "utf-8")
    with (work / "labels.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["item_id", "annotator", "label"])
        scale = ["low", "mid", "high"]
        for i in range(20):
            for j, person in enumerate(("a", "b", "c")):
                writer.writerow([f"i{i}", person, scale[(i + (i % 4 == 0) * j) % 3]])
    (work / "my-policy.json").write_text(json.dumps(POLICY), "utf-8")


@pytest.fixture(scope="session")
def openai_server() -> Iterator[tuple[str, list[str]]]:
    with fake_openai_server() as server:
        yield server


@pytest.fixture
def reader_env(tmp_path: Path, openai_server: tuple[str, list[str]]) -> dict[str, str]:
    """What a reader's shell has: the venv's bin first on PATH (an activated venv), the
    database in the working directory, keys for the hosted model pointing at the fake one."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ANNOTATE_", "OPENAI_", "LABEL_STUDIO", "LS_", "DEMO_"))}
    work = tmp_path / "clone"
    env.update({
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "ANNOTATE_DB": f"sqlite:///{work / 'annotate.db'}",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "OPENAI_API_KEY": "sk-fake-acceptance",
        "OPENAI_BASE_URL": openai_server[0],
        "OPENAI_API_BASE": openai_server[0],
        "DEMO_DB": f"sqlite:///{tmp_path / 'demo.db'}",
        "NO_COLOR": "1",
        "COLUMNS": "200",
    })
    return env


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    """``clone/`` holds the files; ``../shared`` beside it is the shared data, where it is
    beside a clone of the repository (tests/conftest.py SHARED_DATA)."""
    work = tmp_path / "clone"
    work.mkdir()
    write_files(work)
    if SHARED_DATA.exists():
        (tmp_path / "shared").symlink_to(SHARED_DATA.parent, target_is_directory=True)
    return work
