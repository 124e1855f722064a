"""The payload test: the whole PII set through every role and driver against a fake remote
model on 127.0.0.1 that logs every request body; no raw value of the set reaches it."""

from __future__ import annotations

import contextlib
import io
import json
import threading
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer

import pytest

from annotate.kinds.schema import LabelSchema
from annotate.llm.client import make_client
from annotate.llm.pii.scoring import load_set
from annotate.projects.policy import RoutingPolicy
from annotate.store.engine import Store
from roles import expert
from roles.offline import annotate_items, annotate_texts
from roles.runner import run_project
from tests.acceptance.fake_openai import _Handler


class _LoggingHandler(_Handler):
    bodies: list[dict[str, object]]

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        self.bodies.append(json.loads(raw))
        self.rfile = io.BytesIO(raw)  # type: ignore[assignment]
        super().do_POST()


@pytest.fixture
def remote_model(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, object]]]:
    """``openai/fake-remote`` answered by a local server; yields the logged request bodies."""
    bodies: list[dict[str, object]] = []
    handler = type("Handler", (_LoggingHandler,), {"calls": [], "bodies": bodies})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    monkeypatch.setenv("OPENAI_API_BASE", url)
    try:
        yield bodies
    finally:
        server.shutdown()
        server.server_close()

MODEL = "openai/fake-remote"
ROWS = load_set()
TEXTS = [r["text"] for r in ROWS]
# A short value ("Mark", "4012") is looked for with the words before it: the word alone also
# occurs in negatives ("Mark the parcel as fragile").
VALUES = sorted({r["text"][max(0, s - 10) if e - s < 6 else s:e] for r in ROWS
                 for s, e, _ in r["spans"]}, key=len)


def _leaks(bodies: list[dict[str, object]]) -> list[str]:
    sent = "\n".join(str(m.get("content", "")) for b in bodies  # type: ignore[union-attr]
                     for m in b.get("messages", []))  # type: ignore[attr-defined]
    return [v for v in VALUES if v in sent]


def test_no_raw_value_reaches_a_remote_model(
        sqlite_store: Store, make_items: Callable[..., int],
        remote_model: list[dict[str, object]]) -> None:
    # Default policy: redaction is on because the model is remote; nothing is set.
    policy = RoutingPolicy(human_annotations=0, llm_annotations=2)
    pid = make_items(TEXTS, policy=policy, name="p")
    assert policy.redact_personal_data is None
    run_project(sqlite_store, "p", make_client(sqlite_store, pid, MODEL), model=MODEL)
    ran = len(remote_model)
    annotate_texts(sqlite_store, "p", TEXTS, model=MODEL)  # playground / pilot driver
    from annotate.store.models import Item
    with sqlite_store.session() as session:
        ids = [i.id for i in session.query(Item).filter(Item.project_id == pid)]
    annotate_items(sqlite_store, pid, ids, model=MODEL)  # playground, pilot run_model
    from annotate.integrations.labelstudio.predictor import load_predictor
    predictor = load_predictor(sqlite_store, "p", MODEL)
    from types import SimpleNamespace
    predictor.predict(LabelSchema(kind="classification", labels=["pos", "neg"]),
                      [SimpleNamespace(text=t, data={}) for t in TEXTS])
    llm = make_client(sqlite_store, pid, MODEL)
    expert.synthesise(sqlite_store, llm, "p", model=MODEL, n=len(TEXTS))
    # The fake's answer is too short to be a revision; the request was still sent.
    with contextlib.suppress(Exception):
        expert.review(sqlite_store, llm, "p", model=MODEL, n_items=10)
    expert.estimate(sqlite_store, "p", model=MODEL)  # sends nothing
    # The drivers' redacted requests equal the run's and come from the gateway's cache; a
    # driver that skipped the door would send a different (raw) request, and leak below.
    assert ran >= len(TEXTS) and len(remote_model) > ran
    assert _leaks(remote_model) == []


def test_helper_and_moderator_payloads(
        sqlite_store: Store, make_items: Callable[..., int],
        remote_model: list[dict[str, object]]) -> None:
    text_pid = make_items(TEXTS, schema=LabelSchema(kind="text"),
                          policy=RoutingPolicy(helper_first=True, human_annotations=1,
                                               llm_annotations=0), name="helped")
    run_project(sqlite_store, "helped", make_client(sqlite_store, text_pid, MODEL),
                model=MODEL)
    disagree = {i: [{"label": "pos"}, {"label": "neg"}] for i in range(len(TEXTS))}
    mod_pid = make_items(TEXTS, policy=RoutingPolicy(human_annotations=2, llm_annotations=0),
                         name="moderated", human_labels=disagree)
    before = len(remote_model)
    run_project(sqlite_store, "moderated", make_client(sqlite_store, mod_pid, MODEL),
                model=MODEL)
    assert len(remote_model) > before, "the moderator was not called"
    assert _leaks(remote_model) == []


def test_off_means_off(sqlite_store: Store, make_items: Callable[..., int],
                       remote_model: list[dict[str, object]]) -> None:
    """The test can fail: with redaction turned off the raw values do reach the model."""
    pid = make_items(TEXTS[:20], policy=RoutingPolicy(
        human_annotations=0, llm_annotations=1, redact_personal_data=False), name="off")
    run_project(sqlite_store, "off", make_client(sqlite_store, pid, MODEL), model=MODEL)
    assert _leaks(remote_model)
    assert json.dumps(remote_model)
