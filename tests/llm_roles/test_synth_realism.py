"""Synthetic items that look real (#19 item 4): `expert synth` drops near-copies and drifted
paraphrases, measures a real-vs-synthetic AUC and refuses a batch the classifier tells apart.

The model is the scripted fake (paraphrases chosen per item); the store is a SQLite file; the
embedder is the real MiniLM where a test needs meaning (skipped when it is not installed).
"""

from __future__ import annotations

import csv
import json
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from annotate.cli.main import main
from annotate.datasets import CONVABUSE_SAMPLE
from annotate.llm.gateway import Gateway
from annotate.llm.testing import install_fake, malformed, reply
from annotate.projects.policy import RoutingPolicy
from annotate.store.engine import Store
from annotate.store.models import Item
from roles.candidates import default_embedder, embedding_available
from roles.expert import synthesise
from roles.realism import realism_auc

ROOT = Path(__file__).resolve().parents[2]
needs_minilm = pytest.mark.skipif(not embedding_available(),
                                  reason="the distill extra (MiniLM) is not installed")

SUBJECTS = ["my phone", "the laptop", "this charger", "the screen", "our router",
            "the battery", "my headphones", "the keyboard", "the printer", "the camera"]
STATES = ["stopped working", "broke", "works fine", "is too slow", "keeps crashing", "died",
          "is great", "feels cheap", "got hot", "makes a noise"]
WHEN = ["after a week", "yesterday", "again", "since the update", "every morning",
        "for no reason", "today", "at last", "twice", "on monday"]


def messages(n: int, seed: int) -> list[str]:
    """Short customer messages from one distribution, distinct, seeded."""
    rng, out = random.Random(seed), dict[str, None]()
    while len(out) < n:
        out[f"{rng.choice(SUBJECTS)} {rng.choice(STATES)} {rng.choice(WHEN)}"] = None
    return list(out)


def item_of(messages_: list[dict[str, Any]]) -> str:
    user = str(messages_[-1]["content"])
    return user[user.index("<item>") + len("<item>"):user.index("</item>")].strip()


def paraphrasing(rewrite: Callable[[str], str]) -> Callable[..., Any]:
    """A fake model answering each synth request with ``rewrite(item)``."""
    return lambda _model, msgs, _params: reply(
        json.dumps({"paraphrases": [rewrite(item_of(msgs))]}))


def synthetic_count(store: Store) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(Item)
                                  .where(Item.synthetic.is_(True))) or 0)


@needs_minilm
def test_copies_near_copies_and_drifted_paraphrases_are_not_imported(
        sqlite_store: Store, make_items: Callable[..., int],
        gateway_for: Callable[[int], Gateway]) -> None:
    texts = ["the battery died after a week", "my order never arrived, where is it?",
             "the screen cracked when I dropped it", "how do I reset my password?"]
    answers = {texts[0]: texts[0].upper(),  # a copy (case aside)
               texts[1]: "my order never arrived, so where is it?",  # a near-copy
               texts[2]: "The quarterly tax report is due on Friday afternoon.",  # drifted
               texts[3]: "what are the steps to change my forgotten login password"}
    pid = make_items(texts)
    install_fake(responder=paraphrasing(answers.__getitem__))
    report = synthesise(sqlite_store, gateway_for(pid), "p", model="fake/m", n=4)
    assert dict(report.checked.dropped) == {"copy_of_source": 1, "near_copy_of_source": 1,
                                            "drifted": 1}
    with sqlite_store.session() as session:
        made = session.scalars(select(Item.text).where(Item.id.in_(report.created))).all()
    assert made == [answers[texts[3]]]
    assert report.checked.copy_share == 0.5
    meaning = report.checked.meaning_summary(report.bounds.min_meaning)
    assert meaning["measure"] == "embedding" and meaning["below_floor"] == 0.25
    assert report.realism.auc is None and "at least 10" in report.realism.note


def test_the_policy_bounds_decide_what_is_a_near_copy(
        sqlite_store: Store, make_items: Callable[..., int],
        gateway_for: Callable[[int], Gateway]) -> None:
    texts = ["my phone broke yesterday", "the laptop got hot today"]
    pid = make_items(texts, policy=RoutingPolicy(human_annotations=0, llm_annotations=1,
                                                 synth_max_similarity=0.5))
    install_fake(responder=paraphrasing(lambda t: f"so {t}, sadly"))
    report = synthesise(sqlite_store, gateway_for(pid), "p", model="fake/m", n=2,
                        embedder=None)
    assert report.created == [] and report.checked.dropped["near_copy_of_source"] == 2


@pytest.mark.parametrize("embedded", [False, pytest.param(True, marks=needs_minilm)])
def test_a_batch_with_a_telltale_token_has_auc_near_1_and_is_refused(
        sqlite_store: Store, make_items: Callable[..., int],
        gateway_for: Callable[[int], Gateway], embedded: bool) -> None:
    texts = messages(40, seed=1)
    pid = make_items(texts)
    install_fake(responder=paraphrasing(lambda t: f"zxqv kindly note: {t} zxqv thanks"))
    embedder = default_embedder() if embedded else None
    report = synthesise(sqlite_store, gateway_for(pid), "p", model="fake/m", n=40,
                        embedder=embedder)
    assert len(report.checked.kept) == 40
    assert report.realism.auc is not None and report.realism.auc > 0.95
    assert report.realism.measure.startswith("embedding" if embedded else "lexical")
    assert report.refused is not None and "synth_max_auc 0.8" in report.refused
    assert report.created == [] and synthetic_count(sqlite_store) == 0
    forced = synthesise(sqlite_store, gateway_for(pid), "p", model="fake/m", n=40,
                        embedder=embedder, force=True, seed=1)
    assert len(forced.created) == 40 and synthetic_count(sqlite_store) == 40
    again = synthesise(sqlite_store, gateway_for(pid), "p", model="fake/m", n=40,
                       embedder=embedder, force=True, seed=1)  # the same answers again
    assert again.created == [] and again.checked.dropped["duplicate"] == 40


def user_messages() -> list[str]:
    """Distinct user messages of the shipped ConvAbuse slice (three words or more)."""
    with CONVABUSE_SAMPLE.open(encoding="utf-8") as handle:
        texts = [row["text"].strip() for row in csv.DictReader(handle)]
    return [t for t in dict.fromkeys(texts) if len(t.split()) >= 3]


def test_an_indistinguishable_batch_has_auc_near_half_and_is_imported(
        sqlite_store: Store, make_items: Callable[..., int],
        gateway_for: Callable[[int], Gateway]) -> None:
    # The "paraphrases" are other real messages: nothing can tell them from the real ones.
    texts = random.Random(8).sample(user_messages(), 100)
    others = iter(texts[50:])
    pid = make_items(texts[:50])
    install_fake(responder=paraphrasing(lambda _t: next(others)))
    report = synthesise(sqlite_store, gateway_for(pid), "p", model="fake/m", n=50,
                        embedder=None)
    realism = report.realism
    assert realism.auc is not None and realism.low is not None and realism.high is not None
    assert 0.35 < realism.auc < 0.65 and realism.low < 0.5 < realism.high, realism
    assert report.refused is None and len(report.created) == len(report.checked.kept) >= 45


def test_auc_is_seeded_and_keeps_a_paraphrase_with_its_source() -> None:
    real = [(f"s{i}", t) for i, t in enumerate(messages(30, seed=5))]
    synthetic = [(g, f"{t} zxqv") for g, t in real]
    first = realism_auc(real, synthetic, None, seed=7)
    assert first == realism_auc(real, synthetic, None, seed=7)
    assert first.auc is not None and first.auc > 0.95 and first.folds == 5


RUN_WITH_FAKE = """
import json, sys
from annotate.llm.testing import install_fake, malformed, reply
def answer(model, messages, params):
    user = str(messages[-1]["content"])
    item = user[user.index("<item>") + 6:user.index("</item>")].strip()
    return reply(json.dumps({"paraphrases": [f"zxqv kindly note: {item} zxqv thanks"]}))
install_fake("fake", responder=answer)
from annotate.cli.main import main
from annotate.datasets import CONVABUSE_SAMPLE
sys.exit(main(sys.argv[1:]))
"""


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", RUN_WITH_FAKE, *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)


def test_synth_command_reports_and_refuses_as_a_user_sees_it(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'synth.db'}"
    data = tmp_path / "items.csv"
    data.write_text("id,text\n" + "".join(f"i{i},{t}\n" for i, t in
                                          enumerate(messages(30, seed=6))))
    assert main(["--db", db, "-q", "project", "create", "p", "--kind", "classification",
                 "--labels", "pos,neg"]) == 0
    assert main(["--db", db, "-q", "import", "p", str(data)]) == 0
    refused = cli("--db", db, "expert", "synth", "p", "-m", "fake/m", "--n", "30")
    assert refused.returncode == 2, refused.stderr
    assert "real vs synthetic: AUC 1.00" in refused.stdout
    assert "refused: a classifier tells these synthetic items" in refused.stdout
    assert "0 imported" in refused.stdout and "Traceback" not in refused.stderr
    forced = cli("--db", db, "expert", "synth", "p", "-m", "fake/m", "--n", "30", "--force",
                 "--json")
    assert forced.returncode == 0, forced.stderr
    report = json.loads(forced.stdout)
    assert report["created"] == 30 and report["forced"] and report["realism"]["auc"] > 0.95
    assert report["dropped"] == {} and report["copy_share"] == 0.0
    for bad, message in [(["nosuch"], "nosuch"), (["p", "--n", "0"], "--n"),
                         (["p", "--no-from-real"], "only --from-real")]:
        run = cli("--db", db, "expert", "synth", *bad, "-m", "fake/m")
        assert run.returncode == 2 and message in run.stderr, run.stderr
        assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) <= 6


@pytest.mark.parametrize(("setting", "message"), [
    ({"synth_max_auc": 0.3}, "synth_max_auc"), ({"synth_min_meaning": True}, "true/false"),
    ({"synth_max_similarity": 1.5}, "synth_max_similarity")])
def test_policy_refuses_bad_synth_bounds(tmp_path: Path, setting: dict[str, object],
                                         message: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'p.db'}"
    assert main(["--db", db, "-q", "project", "create", "p", "--kind", "classification",
                 "--labels", "pos,neg"]) == 0
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(setting))
    assert main(["--db", db, "policy", "set", "p", str(policy)]) == 2
    assert message in capsys.readouterr().err


def test_an_unusable_answer_is_counted_and_the_batch_goes_on(
        sqlite_store: Store, make_items: Callable[..., int],
        gateway_for: Callable[[int], Gateway]) -> None:
    pid = make_items(["my phone broke yesterday", "the laptop got hot today"])
    install_fake(steps=[malformed('{"paraphrases": ["cut off'),
                        reply(json.dumps({"paraphrases": ["my notebook overheated earlier"]}))],
                 default=malformed('{"paraphrases": ["cut off'))
    report = synthesise(sqlite_store, gateway_for(pid), "p", model="fake/m", n=2,
                        embedder=None)
    assert report.checked.dropped["unusable"] == 1 and len(report.created) == 1
