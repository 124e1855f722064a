"""The pacer: GCRA over requests and tokens per minute, with an injected clock."""

from __future__ import annotations

import threading
from email.utils import formatdate

import pytest

from annotate.errors import InvalidInput
from annotate.llm.pacing import Pacer, RateLimit, pacer_for, resolve_limit, retry_after_s
from annotate.projects.policy import parse_policy


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_calls_are_spaced_evenly_at_the_limit() -> None:
    clock = Clock()
    pacer = Pacer(RateLimit(rpm=60), headroom=1.0, warm_up=False, clock=clock)
    assert [pacer.reserve() for _ in range(4)] == [0.0, 1.0, 2.0, 3.0]
    clock.now += 10  # a quiet spell does not bank calls for a burst
    assert [pacer.reserve() for _ in range(2)] == [0.0, 1.0]


def test_headroom_keeps_the_pace_under_the_limit() -> None:
    pacer = Pacer(RateLimit(rpm=600), headroom=0.5, warm_up=False, clock=Clock())
    assert [pacer.reserve() for _ in range(3)] == pytest.approx([0.0, 0.2, 0.4])


def test_tokens_per_minute_space_calls_by_their_size() -> None:
    clock = Clock()
    pacer = Pacer(RateLimit(tpm=600), headroom=1.0, warm_up=False, clock=clock)
    assert pacer.reserve(100) == 0.0  # 100 tokens = 10 s of a 600 tokens/minute limit
    assert pacer.reserve(50) == pytest.approx(10.0)
    assert pacer.reserve(10) == pytest.approx(15.0)


def test_the_stricter_of_both_limits_decides() -> None:
    pacer = Pacer(RateLimit(rpm=60, tpm=6000), headroom=1.0, warm_up=False, clock=Clock())
    assert [pacer.reserve(10) for _ in range(3)] == pytest.approx([0.0, 1.0, 2.0])  # rpm
    pacer = Pacer(RateLimit(rpm=60, tpm=600), headroom=1.0, warm_up=False, clock=Clock())
    assert [pacer.reserve(20) for _ in range(3)] == pytest.approx([0.0, 2.0, 4.0])  # tpm


def test_a_burst_goes_at_once_then_the_pace_holds() -> None:
    pacer = Pacer(RateLimit(rpm=60), headroom=1.0, burst=3, warm_up=False, clock=Clock())
    assert [pacer.reserve() for _ in range(5)] == [0.0, 0.0, 0.0, 1.0, 2.0]


def test_retry_after_holds_back_every_call() -> None:
    clock = Clock()
    pacer = Pacer(RateLimit(rpm=60), headroom=1.0, warm_up=False, clock=clock)
    assert pacer.reserve() == 0.0
    pacer.hold_off(5.0)
    assert [pacer.reserve() for _ in range(2)] == [5.0, 6.0]
    unlimited = Pacer(RateLimit(), clock=clock)
    assert unlimited.reserve() == 0.0
    unlimited.hold_off(2.0)
    assert [unlimited.reserve(), unlimited.reserve()] == [2.0, 2.0]


def test_the_first_call_goes_alone_and_moves_the_schedule() -> None:
    """The first call pays for setup and may reach the provider late: the others wait for
    it, then keep the pace from its latest possible arrival."""
    clock = Clock()
    pacer = Pacer(RateLimit(rpm=60), headroom=1.0, clock=clock)
    assert pacer.reserve() == 0.0
    clock.now += 0.4
    assert pacer.reserve() is None  # still out
    pacer.answered()
    assert pacer.reserve() == pytest.approx(1.0)  # 1 s after the first call's answer
    assert pacer.reserve() == pytest.approx(2.0)
    pacer.answered()  # later answers change nothing
    assert pacer.reserve() == pytest.approx(3.0)
    stuck = Pacer(RateLimit(rpm=60), headroom=1.0, clock=clock)
    assert stuck.reserve() == 0.0
    clock.now += 11  # a first call that never comes back holds the others 10 s at most
    assert stuck.reserve() == 0.0


def test_threads_get_distinct_turns() -> None:
    pacer = Pacer(RateLimit(rpm=60), headroom=1.0, warm_up=False, clock=Clock())
    delays: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(25):
            delay = pacer.reserve()
            with lock:
                delays.append(delay)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(delays) == [float(i) for i in range(200)]


def test_one_pacer_per_model_and_limit_in_the_process() -> None:
    limit = RateLimit(rpm=123)
    assert pacer_for("openai/pace-a", limit) is pacer_for("openai/pace-a", RateLimit(rpm=123))
    assert pacer_for("openai/pace-b", limit) is not pacer_for("openai/pace-a", limit)


def test_configured_limits_win_over_the_known_ones() -> None:
    known = {"rpm": 300, "input_cost_per_token": 1e-6}
    assert resolve_limit("m", {}, known) == RateLimit(rpm=300)
    assert resolve_limit("m", {"m": {"rpm": 600}}, known) == RateLimit(rpm=600)
    assert resolve_limit("m", {"m": {"tpm": 1000}}, known) == RateLimit(rpm=300, tpm=1000)
    assert resolve_limit("m", {"other": {"rpm": 1}}, None) == RateLimit()


class _Headers(Exception):
    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__("429")
        self.litellm_response_headers = headers


@pytest.mark.parametrize(("headers", "seconds"), [
    ({"Retry-After": "7"}, 7.0), ({"retry-after": "0.5"}, 0.5),
    ({"retry-after-ms": "250", "retry-after": "1"}, 0.25),
    ({"Retry-After": formatdate(1_000_030, usegmt=True)}, 30.0),
    ({"Retry-After": "soon"}, None), ({"x": "1"}, None), ({}, None),
])
def test_retry_after_from_the_answer_headers(headers: dict[str, str],
                                             seconds: float | None) -> None:
    assert retry_after_s(_Headers(headers), now=lambda: 1_000_000.0) == seconds


@pytest.mark.parametrize("bad", [{"m": {"rpm": 0}}, {"m": {"rpm": True}}, {"m": {"rpn": 5}},
                                 {"m": 600}, {"m": {"tpm": -1}}])
def test_policy_refuses_bad_rate_limits(bad: object) -> None:
    with pytest.raises(InvalidInput, match=r"rate_limits\.m"):
        parse_policy({"rate_limits": bad})
    assert parse_policy({"rate_limits": {"m": {"rpm": 500, "tpm": 2e5}}}).rate_limits == {
        "m": {"rpm": 500.0, "tpm": 200000.0}}
