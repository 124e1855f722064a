"""Distinct, scored Helper candidates (#19): copies, duplicates, empty text and prompt text
are dropped and counted, re-asks are bounded, candidates are stored best first with scores."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from annotate.kinds.schema import LabelSchema
from annotate.llm.gateway import Gateway
from annotate.llm.testing import Reply, install_fake, reply
from annotate.projects.calibrators import FittedCalibrator, save_calibrator
from annotate.projects.policy import RoutingPolicy
from annotate.store.engine import Store
from annotate.store.models import LLMCall, Suggestion, Task
from roles.base import Attempt, ProjectContext, RoleContext
from roles.candidates import (
    Meaning,
    Selection,
    default_embedder,
    embedding_available,
    from_prompt,
    mean_logprob,
    normalised,
)
from roles.helper import Gathered, gather
from roles.runner import run_project

SOURCE = "The meeting moved to Tuesday because the room was booked."
LEAK = "each worded differently from the item and from the others"
TEXT = LabelSchema(kind="text")


def rewrites(*texts: str) -> Reply:
    return reply(json.dumps({"candidates": [{"text": t} for t in texts]}))


def helper_policy(extra: int = 2, n: int = 3) -> RoutingPolicy:
    return RoutingPolicy(helper_first=True, helper_candidates=n, helper_extra_calls=extra,
                         human_annotations=1, llm_annotations=0)


def _suggestion(store: Store) -> Suggestion:
    with store.session() as s:
        return s.scalars(select(Suggestion)).one()


def test_selection_drops_copies_duplicates_empty_and_prompt_text() -> None:
    prompt = f"Follow the guideline.\n<item>{SOURCE}</item>\nWrite 3 candidate answers, {LEAK}."
    sel = Selection(SOURCE, prompt, Meaning(SOURCE))
    offered = ["the meeting moved to Tuesday, because the room was booked!",  # copy
               "The meeting moved to Tuesday because the room is booked.",  # near-copy
               "Room booked, so the meeting is now on Tuesday.",
               "room booked so the meeting is now on tuesday",  # duplicate once normalised
               "Room booked, so the meeting is now on a Tuesday.",  # near-duplicate
               "   ", LEAK, "We meet on Tuesday, " * 12,
               "Since the room was taken, we meet on Tuesday."]
    kept = [t for t in offered if sel.offer({"text": t})]
    assert kept == ["Room booked, so the meeting is now on Tuesday.",
                    "Since the room was taken, we meet on Tuesday."]
    assert dict(sel.dropped) == {"copy_of_source": 1, "near_copy_of_source": 1, "duplicate": 1,
                                 "near_duplicate": 1, "empty": 1, "prompt_leak": 1,
                                 "too_long": 1}
    assert sel.seen == len(offered)


def test_text_from_the_item_is_not_a_leak_even_when_the_prompt_has_it() -> None:
    assert normalised("  Hello,  WORLD! ") == "hello world"
    prompt = "no facts that are not in it; the item: please go on"
    assert from_prompt("no facts that are not in it", prompt, "please go on")
    assert not from_prompt("please go on then", prompt, "please go on")


def test_fluency_is_the_mean_logprob_of_the_candidate_tokens() -> None:
    from annotate.llm.types import TokenLogprob

    text = '{"candidates": [{"text": "a b"}, {"text": "c"}]}'
    cut = [text[:26], text[26:29], text[29:43], text[43:44], text[44:]]  # 'a b', 'c'
    tokens = [TokenLogprob(t, lp) for t, lp in zip(cut, [0.0, -1.0, 0.0, -3.0, 0.0],
                                                     strict=True)]
    first, at = mean_logprob("a b", text, tokens)
    second, _ = mean_logprob("c", text, tokens, at)
    assert first == pytest.approx(-1.0) and second == pytest.approx(-3.0)
    assert mean_logprob("a b", text, None) == (None, 0)


def test_helper_asks_again_until_it_has_distinct_candidates(
        sqlite_store: Store, make_items: Callable[..., int],
        gateway_for: Callable[[int], Gateway]) -> None:
    pid = make_items([SOURCE], schema=TEXT, policy=helper_policy(extra=2))
    first, second = ("Room booked, so the meeting is on Tuesday.",
                     "Since the room was taken, we meet on Tuesday.")
    fake = install_fake(steps=[rewrites(SOURCE, first, first),
                               rewrites("   ", LEAK, first.upper())],
                        default=rewrites(second, second + "!", " "))
    run_project(sqlite_store, "p", gateway_for(pid), model="fake/m")
    assert fake.call_count == 3  # 1 + helper_extra_calls: bounded
    suggestion = _suggestion(sqlite_store)
    assert sorted(c["text"] for c in suggestion.candidates) == [first, second]
    assert suggestion.stats is not None
    assert suggestion.stats["dropped"] == {"copy_of_source": 1, "duplicate": 3, "empty": 2,
                                           "prompt_leak": 1}
    assert suggestion.stats | {"dropped": None} == {
        "asked": 3, "found": 2, "calls": 3, "strategy": "list", "seen": 9,
        "dropped": None, "failed_calls": 0, "meaning_measure": suggestion.stats[
            "meaning_measure"]}
    later = [c["params"] for c in fake.calls[1:]]
    assert {p["seed"] for p in later} == {1, 2} and all(p["temperature"] > 0 for p in later)
    assert all(p.get("logprobs") for p in later)
    with sqlite_store.session() as s:  # the person's task follows, as before
        assert sorted(t.role for t in s.scalars(select(Task))) == ["annotator", "helper"]


def test_stops_asking_once_enough_candidates_are_kept(
        sqlite_store: Store, make_items: Callable[..., int],
        gateway_for: Callable[[int], Gateway]) -> None:
    pid = make_items([SOURCE], schema=TEXT, policy=helper_policy(extra=5, n=2))
    twice = rewrites("Room booked, so Tuesday it is.", "Room booked, so Tuesday it is.")
    fake = install_fake(steps=[twice], default=rewrites(
        "Since the room was taken, we meet on Tuesday.", "Tuesday, then: no room before."))
    run_project(sqlite_store, "p", gateway_for(pid), model="fake/m")
    assert fake.call_count == 2
    suggestion = _suggestion(sqlite_store)
    assert suggestion.stats["found"] == 2  # type: ignore[index]
    assert len(suggestion.candidates) == 2  # the best 2 of the 3 kept


def test_candidates_are_stored_best_first_with_scores_and_ids(
        sqlite_store: Store, make_items: Callable[..., int],
        gateway_for: Callable[[int], Gateway]) -> None:
    pid = make_items([SOURCE], schema=TEXT, policy=helper_policy(extra=0, n=2))
    install_fake(steps=[rewrites("Weather report: sunny all week.",
                                 "The room was booked, so the meeting is Tuesday now.")])
    run_project(sqlite_store, "p", gateway_for(pid), model="fake/m")
    cands = _suggestion(sqlite_store).candidates
    texts = [c["text"] for c in cands]
    if len(cands) == 2:  # lexical measure: both kept, the faithful one first
        assert texts[0].startswith("The room was booked")
    else:  # sentence embeddings: the unrelated one has lost the meaning
        assert texts == ["The room was booked, so the meeting is Tuesday now."]
    assert [c["id"] for c in cands] == [f"c{i}" for i in range(len(cands))]
    assert [c["value"]["candidate"] for c in cands] == list(range(len(cands)))
    scores = [c["score"] for c in cands]
    assert scores == sorted(scores, reverse=True) and all(0 < s <= 1 for s in scores)
    assert set(cands[0]["scores"]) == {"meaning", "meaning_measure", "fluency", "length_ratio"}
    assert cands[0]["scores"]["length_ratio"] == pytest.approx(10 / 10)


def test_all_copies_leave_no_candidates_but_the_person_still_gets_the_item(
        sqlite_store: Store, make_items: Callable[..., int],
        gateway_for: Callable[[int], Gateway]) -> None:
    pid = make_items([SOURCE], schema=TEXT, policy=helper_policy(extra=1))
    copies = [SOURCE, SOURCE.upper(), SOURCE + "!"]

    def as_asked(model: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> Reply:
        schema = params["response_format"]["json_schema"]["schema"]
        return rewrites(*copies[:schema["properties"]["candidates"]["maxItems"]])

    fake = install_fake(responder=as_asked)
    run_project(sqlite_store, "p", gateway_for(pid), model="fake/m")
    assert fake.call_count == 2
    suggestion = _suggestion(sqlite_store)
    assert suggestion.candidates == []
    assert suggestion.stats["dropped"] == {"copy_of_source": 6}  # type: ignore[index]
    assert suggestion.stats["failed_calls"] == 0  # type: ignore[index]


def test_a_failed_call_is_a_value_with_its_raw_output(
        sqlite_store: Store, make_items: Callable[..., int],
        gateway_for: Callable[[int], Gateway]) -> None:
    pid = make_items([SOURCE], schema=TEXT, policy=helper_policy(extra=1))
    install_fake(default=reply('{"candidates": [{"text": "unclosed'))
    context = ProjectContext.load(sqlite_store, "p")
    ctx = RoleContext(sqlite_store, gateway_for(pid), context, "fake/m")
    got = gather(ctx, Attempt("helper"), SOURCE, extra_calls=1)
    assert not isinstance(got, Gathered)
    assert got.kind == "invalid_json" and got.raw_text and "unclosed" in got.raw_text
    with sqlite_store.session() as s:
        assert s.scalar(select(LLMCall.outcome).limit(1)) == "invalid"


def test_old_behaviour_one_call_every_candidate_shown(
        sqlite_store: Store, make_items: Callable[..., int],
        gateway_for: Callable[[int], Gateway]) -> None:
    pid = make_items([SOURCE], schema=TEXT, policy=helper_policy())
    fake = install_fake(default=rewrites(SOURCE, SOURCE, SOURCE))
    ctx = RoleContext(sqlite_store, gateway_for(pid), ProjectContext.load(sqlite_store, "p"),
                      "fake/m")
    got = gather(ctx, Attempt("helper"), SOURCE, check=False)
    assert isinstance(got, Gathered) and fake.call_count == 1
    assert [c["text"] for c in got.candidates] == [SOURCE] * 3


def test_label_candidates_are_ranked_by_calibrated_probability(
        sqlite_store: Store, make_items: Callable[..., int],
        gateway_for: Callable[[int], Gateway]) -> None:
    schema = LabelSchema(kind="classification", labels=["pos", "neg", "neutral"])
    pid = make_items(["fine I guess"], schema=schema, policy=helper_policy(n=3))
    with sqlite_store.session() as s:
        version = s.scalar(select(Task.project_id))  # any row: the project exists
        assert version == pid
    context = ProjectContext.load(sqlite_store, "p")
    with sqlite_store.session() as s:  # raw 0.9 -> 0.3, raw 0.5 -> 0.6 (a made-up fit)
        save_calibrator(s, pid, "fake/m", "verbalized", context.guideline_version,
                        FittedCalibrator("isotonic", {"x": [0.5, 0.9], "y": [0.6, 0.3]},
                                         20, None, None))
    install_fake(default=reply(json.dumps({"ranking": [
        {"label": "pos", "score": 90}, {"label": "neutral", "score": 50}]})))
    run_project(sqlite_store, "p", gateway_for(pid), model="fake/m")
    cands = _suggestion(sqlite_store).candidates
    assert [c["value"] for c in cands] == [{"label": "neutral"}, {"label": "pos"}]
    assert [c["score"] for c in cands] == [pytest.approx(0.6), pytest.approx(0.3)]
    assert cands[0]["scores"] == {"raw": 0.5, "calibrated": True}


def test_rewrites_are_ordered_by_meaning_kept_length_and_fluency() -> None:
    from roles.candidates import rewrite_score, scored_rewrites

    sel = Selection(SOURCE, "", Meaning(SOURCE))  # the lexical measure
    for text, fluency in [("Weather report: sunny all week.", -0.1),
                          ("Tuesday is the new meeting day; someone booked the room.", -0.2),
                          ("As the room was booked, the meeting moved to Tuesday.", -0.2)]:
        assert sel.offer({"text": text, "fluency": fluency})
    ranked = scored_rewrites(sel)
    assert [c["text"][:5] for c in ranked] == ["As th", "Tuesd", "Weath"]
    assert [c["score"] for c in ranked] == sorted((c["score"] for c in ranked), reverse=True)
    assert ranked[0]["scores"]["meaning_measure"] == "lexical"
    assert rewrite_score(0.8, None, 1.0) > rewrite_score(0.8, None, 4.0)
    assert rewrite_score(0.8, -0.1, 1.0) > rewrite_score(0.8, -3.0, 1.0)


def test_samples_strategy_reasks_for_one_candidate_at_a_time(
        sqlite_store: Store, make_items: Callable[..., int],
        gateway_for: Callable[[int], Gateway]) -> None:
    pid = make_items([SOURCE], schema=TEXT, policy=helper_policy())
    fake = install_fake(steps=[rewrites(SOURCE, SOURCE, SOURCE)],
                        default=rewrites("Since the room was taken, we meet on Tuesday."))
    ctx = RoleContext(sqlite_store, gateway_for(pid), ProjectContext.load(sqlite_store, "p"),
                      "fake/m")
    got = gather(ctx, Attempt("helper"), SOURCE, extra_calls=2, strategy="samples")
    assert isinstance(got, Gathered) and fake.call_count == 3
    asked = [c["params"]["response_format"]["json_schema"]["schema"]["properties"][
        "candidates"]["maxItems"] for c in fake.calls]
    assert asked == [3, 1, 1] and got.stats["found"] == 1


@pytest.mark.skipif(not embedding_available(), reason="needs the distill extra (MiniLM)")
def test_meaning_floor_drops_unrelated_text_unless_the_policy_turns_it_off() -> None:
    embedder = default_embedder()
    unrelated, faithful = "2023-01-01 20:00:00", "As the room was booked, we meet on Tuesday."
    strict = Selection(SOURCE, "", Meaning(SOURCE, embedder))
    assert not strict.offer({"text": unrelated}) and strict.offer({"text": faithful})
    assert dict(strict.dropped) == {"meaning_lost": 1}
    assert strict.kept[0]["meaning"] > 0.6  # MiniLM: a paraphrase keeps most of the meaning
    replies = Selection(SOURCE, "", Meaning(SOURCE, embedder, floor=0.0))  # e.g. replies
    assert replies.offer({"text": unrelated})


def test_fluency_comes_from_the_backends_logprobs(
        sqlite_store: Store, make_items: Callable[..., int],
        gateway_for: Callable[[int], Gateway]) -> None:
    pid = make_items([SOURCE], schema=TEXT, policy=helper_policy(extra=0, n=1))
    text = json.dumps({"candidates": [{"text": "Tuesday, as the room was booked."}]})
    at = text.index("Tuesday")
    pieces = [(text[:at], 0.0), (text[at:at + 8], -0.5), (text[at + 8:-4], -1.5),
              (text[-4:], 0.0)]
    install_fake(default=Reply(text, logprobs=tuple(
        {"token": t, "logprob": lp, "top_logprobs": []} for t, lp in pieces)))
    run_project(sqlite_store, "p", gateway_for(pid), model="fake/m")
    [cand] = _suggestion(sqlite_store).candidates
    assert cand["scores"]["fluency"] == pytest.approx(-1.0)
