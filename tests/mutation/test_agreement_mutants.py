"""Agreement figures on tables small enough to work out by hand (the arithmetic is in the
comments), and the reasons given when a statistic does not apply."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from annotate.agreement.aggregate import decision_labels, final_labels, majority_vote
from annotate.agreement.alpha import alpha_from_counts, krippendorff_alpha, specific_agreement
from annotate.agreement.coincidence import (
    alpha_from_coincidences,
    coincidences,
    cross_coincidences,
    disagreements,
    distances,
    unit_coincidences,
)
from annotate.agreement.kappa import (
    KappaResult,
    cohen_kappa,
    fleiss_kappa,
    kappa_of_codes,
    percent_agreement,
    percent_agreement_of_counts,
)
from annotate.errors import InvalidInput

# Four items rated twice (a,a) (a,b) (b,b) (b,b), one item rated once (a), one not at all.
# Coincidences: o_aa = 2, o_ab = o_ba = 1, o_bb = 4; n_a = 3, n_b = 5, n = 8.
# Nominal: D_o = 2/8 = 0.25, D_e = 2*3*5/(8*7) = 30/56, alpha = 1 - 7*2/30 = 8/15.
COUNTS = np.array([[2, 0], [1, 1], [0, 2], [0, 2], [1, 0], [0, 0]])
COINCIDENCES = np.array([[2.0, 1.0], [1.0, 4.0]])


def _frame(rows: list[tuple[object, ...]], columns: tuple[str, ...] = (
        "item_id", "annotator", "label")) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns))


def _close(actual: object, expected: object) -> None:
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float))


def test_unit_and_total_coincidences() -> None:
    units = unit_coincidences(np.array([[2, 1], [1, 0], [0, 0]]))
    # item 1 (m = 3): (c c^T - diag c) / (m - 1) = ([[4, 2], [2, 1]] - diag(2, 1)) / 2
    _close(units, [[[1, 1], [1, 0]], np.zeros((2, 2)), np.zeros((2, 2))])
    _close(coincidences(COUNTS), COINCIDENCES)
    _close(unit_coincidences(COUNTS).sum(axis=0), COINCIDENCES)


def test_cross_coincidences_count_each_pair_both_ways() -> None:
    a = np.array([[1, 0], [0, 1]])
    b = np.array([[0, 2], [0, 1]])
    _close(cross_coincidences(a, b), [[[0, 2], [2, 0]], [[0, 0], [0, 2]]])


def test_distances_per_level() -> None:
    _close(distances(np.array([1.0, 2.0, 4.0]), "nominal", np.ones(3)),
                               [[0, 1, 1], [1, 0, 1], [1, 1, 0]])
    _close(distances(np.array([1.0, 2.0, 4.0]), "interval", np.ones(3)),
                               [[0, 1, 9], [1, 0, 4], [9, 4, 0]])
    # ratio: ((c - k) / (c + k))^2, and 0 where c + k = 0
    _close(distances(np.array([0.0, 1.0, 3.0]), "ratio", np.ones(3)),
                               [[0, 1, 1], [1, 0, 0.25], [1, 0.25, 0]])
    # ordinal with marginals n = (2, 1, 3): (sum of n_g from c to k - (n_c + n_k) / 2)^2
    _close(
        distances(np.array([1.0, 2.0, 3.0]), "ordinal", np.array([2.0, 1.0, 3.0])),
        [[0, 2.25, 12.25], [2.25, 0, 4], [12.25, 4, 0]])


def test_alpha_of_a_stack_of_coincidence_matrices() -> None:
    stack = np.stack([COINCIDENCES, np.diag([2.0, 2.0]), np.diag([4.0, 0.0]),
                      np.array([[0.0, 0], [0, 1]])])
    alphas = alpha_from_coincidences(stack, np.array([0.0, 1.0]), "nominal")
    assert alphas[0] == pytest.approx(8 / 15)
    assert alphas[1] == pytest.approx(1.0)
    assert math.isnan(alphas[2]) and math.isnan(alphas[3])  # one value only; n = 1


def test_observed_and_expected_disagreement() -> None:
    d_o, d_e = disagreements(COINCIDENCES, np.array([0.0, 1.0]), "nominal")
    assert (d_o, d_e) == pytest.approx((0.25, 30 / 56))
    # interval, values 0 and 2: every disagreeing pair is 4 apart
    d_o, d_e = disagreements(COINCIDENCES, np.array([0.0, 2.0]), "interval")
    assert (d_o, d_e) == pytest.approx((1.0, 4 * 30 / 56))
    assert all(math.isnan(d) for d in disagreements(np.array([[1.0]]), np.array([0.0]),
                                                    "nominal"))


def test_alpha_from_counts_reports_what_it_used() -> None:
    result = alpha_from_counts(COUNTS, np.array([0.0, 1.0]), "nominal", n_annotators=3)
    assert result.value == pytest.approx(8 / 15)
    assert (result.n_items, result.n_pairable_items, result.n_pairable_values) == (5, 4, 8)
    assert result.n_annotators == 3 and result.reason is None and result.level == "nominal"
    assert result.observed_disagreement == pytest.approx(0.25)
    assert result.expected_disagreement == pytest.approx(30 / 56)


def test_a_value_used_only_outside_pairable_items_changes_nothing() -> None:
    with_unused = np.array([[2, 0, 0], [1, 1, 0], [0, 2, 0], [0, 2, 0], [0, 0, 1]])
    result = alpha_from_counts(with_unused, np.array([0.0, 1.0, 2.0]), "ordinal")
    plain = alpha_from_counts(COUNTS[:4], np.array([0.0, 1.0]), "ordinal")
    assert result.value == pytest.approx(plain.value) and result.n_items == 5


def test_alpha_says_why_it_is_undefined() -> None:
    none = alpha_from_counts(np.array([[1, 0], [0, 1]]), np.array([0.0, 1.0]), "nominal")
    assert none.value is None and none.n_pairable_items == 0 and none.n_items == 2
    assert none.reason == "no pairable values: no item has two or more ratings"
    one = alpha_from_counts(np.array([[2, 0], [3, 0], [0, 1]]), np.array([0.0, 1.0]),
                            "nominal")
    assert one.value is None and one.observed_disagreement is None
    assert one.reason is not None and one.reason.startswith(
        "only one category occurs among the pairable values")


def test_the_bootstrap_interval_is_there_only_when_asked_and_defined() -> None:
    frame = _frame([(i, a, lab) for i, pair in enumerate(["aa", "ab", "bb", "bb", "ba", "aa"])
                    for a, lab in zip("AB", pair, strict=True)])
    plain = krippendorff_alpha(frame)
    assert plain.ci is None and plain.value is not None
    boot = krippendorff_alpha(frame, bootstrap=50, seed=1)
    assert boot.ci is not None and boot.value == plain.value
    assert boot.ci.low is not None and boot.ci.high is not None
    assert boot.ci.low <= plain.value <= boot.ci.high
    same = _frame([(i, a, "a") for i in range(3) for a in "AB"])
    assert krippendorff_alpha(same, bootstrap=50).ci is None


def test_specific_agreement_per_label() -> None:
    table = specific_agreement(np.array([[2, 0, 0], [1, 1, 0], [0, 2, 0], [0, 2, 0],
                                         [1, 0, 0], [0, 0, 1]]), ["a", "b", "c"])
    assert list(table["label"]) == ["a", "b", "c"]
    assert list(table["n_ratings"]) == [4, 5, 1]
    assert list(table["n_pairable"]) == [3.0, 5.0, 0.0]
    assert table["specific_agreement"][0] == pytest.approx(2 / 3)
    assert table["specific_agreement"][1] == pytest.approx(4 / 5)
    assert math.isnan(table["specific_agreement"][2])


def test_percent_agreement_counts_pairs() -> None:
    # pairs: 1 + 1 + 1 + 1 + 3 (item rated three times, all agree) = 7; agreeing 1+0+1+1+3 = 6
    counts = np.vstack([COUNTS, [[3, 0]]])
    result = percent_agreement_of_counts(counts)
    assert result.value == pytest.approx(6 / 7) and (result.n_items, result.n_pairs) == (5, 7)
    empty = percent_agreement_of_counts(np.array([[1, 0], [0, 1]]))
    assert (empty.value, empty.n_items, empty.n_pairs, empty.reason) == (
        None, 0, 0, "no item has two or more ratings")
    frame = _frame([(1, "A", "x"), (1, "B", "x"), (2, "A", "x"), (2, "B", "y")])
    assert percent_agreement(frame).value == pytest.approx(0.5)


THREE = _frame([(1, "A", "x"), (1, "B", "x"), (2, "A", "x"), (2, "B", "y"), (3, "A", "y"),
                (3, "B", "y"), (3, "C", "x")])


def test_cohen_kappa_over_the_items_both_rated() -> None:
    # A, B on items 1-3: p_o = 2/3, p_e = (2*1 + 1*2)/9 = 4/9, kappa = (2/9)/(5/9) = 0.4
    result = cohen_kappa(THREE, annotators=("A", "B"))
    assert result.value == pytest.approx(0.4) and result.n_items == 3
    assert (result.statistic, result.annotators, result.reason) == (
        "cohen_kappa", ("A", "B"), None)
    # A, C share item 3 only, where they differ: two categories, kappa defined
    assert cohen_kappa(THREE, annotators=("A", "C")).n_items == 1


@pytest.mark.parametrize("annotators, n_items, reason", [
    (None, 0, "Cohen's kappa needs exactly two annotators; found 3"),
    (("A", "Z"), 0, "no ratings from Z"),
])
def test_cohen_kappa_reasons(annotators: tuple[str, str] | None, n_items: int,
                             reason: str) -> None:
    result = cohen_kappa(THREE, annotators=annotators)
    assert (result.value, result.n_items, result.reason) == (None, n_items, reason)


def test_cohen_kappa_on_degenerate_pairs() -> None:
    apart = cohen_kappa(_frame([(1, "A", "x"), (2, "B", "y")]))
    assert (apart.value, apart.n_items, apart.reason) == (
        None, 0, "the two annotators share no item")
    same = cohen_kappa(_frame([(1, "A", "x"), (1, "B", "x"), (2, "A", "x"), (2, "B", "x")]))
    assert same.value is None and same.n_items == 2
    assert same.reason == ("both annotators used one and the same category only: "
                           "kappa is undefined")
    text = cohen_kappa(THREE, weights="linear", annotators=("A", "B"))
    assert text.value is None and text.weights == "linear"
    assert text.reason is not None and text.reason.startswith("weighted kappa: ")
    with pytest.raises(InvalidInput):
        cohen_kappa(_frame([(1, "A", "x")]).drop(columns=["label"]))


def test_weighted_kappa_uses_every_level_of_the_scale() -> None:
    # codes 0, 1 and 3 of a 4-point scale; linear weights |i - j| on scale positions:
    # sum(w * observed) = 1 + 0 + 0 + 3 = 4, sum(w * expected) = 22 / 4 -> kappa = 1 - 8/11.
    # (Positions of the used codes only, 0 1 2, would give 1 - 3/3.5 = 1/7.)
    a, b = np.array([0, 1, 3, 3]), np.array([1, 1, 3, 0])
    weighted = kappa_of_codes(a, b, 4, "linear", ("A", "B"))
    assert weighted.value == pytest.approx(3 / 11) and weighted.weights == "linear"
    assert weighted.n_items == 4 and weighted.annotators == ("A", "B")
    # unweighted: p_o = 1/2, p_e = (1*1 + 1*2 + 2*1)/16 = 5/16 -> (3/16)/(11/16)
    assert kappa_of_codes(a, b, 4, None, ("A", "B")).value == pytest.approx(3 / 11)
    empty = kappa_of_codes(a[:0], b[:0], 4, None, ("A", "B"))
    assert (empty.value, empty.n_items) == (None, 0)


def test_whole_results_when_a_statistic_does_not_apply() -> None:
    unlabelled = _frame([(1, "A", None), (2, "B", None)])
    assert fleiss_kappa(unlabelled) == KappaResult(None, "fleiss_kappa", 0, (), None,
                                                   "the table has no ratings")
    pair = _frame([(1, "A", "x"), (1, "B", "x"), (2, "A", "x"), (2, "B", "x")])
    assert fleiss_kappa(pair) == KappaResult(None, "fleiss_kappa", 2, ("A", "B"), None,
                                             "only one category is used: kappa is undefined")
    assert fleiss_kappa(THREE).annotators == ("A", "B", "C")
    assert fleiss_kappa(_frame([(1, "A", "x"), (2, "B", "y")])) == KappaResult(
        None, "fleiss_kappa", 2, ("A", "B"), None,
        "Fleiss' kappa needs at least two ratings per item")
    assert cohen_kappa(THREE) == KappaResult(
        None, "cohen_kappa", 0, ("A", "B", "C"), None,
        "Cohen's kappa needs exactly two annotators; found 3")
    assert cohen_kappa(THREE, "quadratic", annotators=("A", "Z"), order=["x", "y"]) == (
        KappaResult(None, "cohen_kappa", 0, ("A", "Z"), "quadratic", "no ratings from Z"))
    assert cohen_kappa(pair) == KappaResult(
        None, "cohen_kappa", 2, ("A", "B"), None,
        "both annotators used one and the same category only: kappa is undefined")
    assert cohen_kappa(_frame([(1, "A", "x"), (2, "B", "y")]), "linear", order=["x", "y"]) == (
        KappaResult(None, "cohen_kappa", 0, ("A", "B"), "linear",
                    "the two annotators share no item"))
    ordered = cohen_kappa(THREE, "linear", order=["x", "y"], annotators=("A", "B"))
    assert ordered.value == pytest.approx(0.4) and ordered.weights == "linear"  # two levels


def test_fleiss_kappa_reasons() -> None:
    unequal = fleiss_kappa(THREE)
    assert unequal.value is None and unequal.n_items == 3
    assert unequal.reason == (
        "Fleiss' kappa needs every item rated the same number of times; here items have 2 to "
        "3 ratings (items: 2 with 2; 1 with 3); Krippendorff's alpha handles unequal numbers")
    single = fleiss_kappa(_frame([(1, "A", "x"), (2, "B", "y")]))
    assert single.reason == "Fleiss' kappa needs at least two ratings per item"
    one = fleiss_kappa(_frame([(1, "A", "x"), (1, "B", "x"), (2, "A", "x"), (2, "B", "x")]))
    assert one.reason == "only one category is used: kappa is undefined"
    ok = fleiss_kappa(_frame([(1, "A", "x"), (1, "B", "x"), (2, "A", "x"), (2, "B", "y")]))
    # P = (1 + 0)/2 = 0.5; p_x = 3/4, p_y = 1/4, P_e = 10/16; kappa = (0.5 - 0.625)/0.375
    assert ok.value == pytest.approx(-1 / 3) and ok.reason is None and ok.n_items == 2


VOTES = _frame([
    (1, "a", "x", "human"), (1, "b", "y", "llm"),
    (2, "a", "x", "human"), (2, "b", "x", "llm"), (2, "c", "y", "human"),
    (3, "a", "y", "human"), (3, "b", "x", "llm"), (3, "e", "x", "llm"), (3, "d", "y", "human"),
    (5, "a", 2, "human"), (5, "b", 10, "llm"), (5, "d", 10, "human"),
    (6, "a", "x", "human"), (6, "d", "y", "human"),
    (7, "b", "x", "llm"), (7, "e", "y", "llm"),
], ("item_id", "annotator", "label", "annotator_kind"))


@pytest.mark.parametrize("rule, order, labels", [
    ("unresolved", None, [None, "x", None, 10, None, None]),
    ("first_in_order", None, ["x", "x", "x", 10, "x", "x"]),
    ("first_in_order", ["y", "x"], ["y", "x", "y", 10, "y", "y"]),
    ("prefer_human", None, ["x", "x", "y", 10, None, None]),
])
def test_majority_vote_tie_rules(rule: str, order: list[str] | None,
                                 labels: list[object]) -> None:
    out = majority_vote(VOTES, rule, order)  # type: ignore[arg-type]
    assert list(out["item_id"]) == [1, 2, 3, 5, 6, 7]
    assert [None if pd.isna(v) else v for v in out["label"]] == labels
    assert list(out["source"]) == ["unresolved" if v is None else "majority" for v in labels]
    assert list(out["tie"]) == [True, False, True, False, True, True]
    assert list(out["n_votes"]) == [2, 3, 4, 3, 2, 2]
    assert list(out["support"]) == pytest.approx([0.5, 2 / 3, 0.5, 2 / 3, 0.5, 0.5])


def test_majority_vote_refuses_an_unknown_rule() -> None:
    with pytest.raises(InvalidInput) as caught:
        majority_vote(VOTES, "coin")  # type: ignore[arg-type]
    assert str(caught.value) == ("unknown tie rule 'coin'; use one of unresolved, "
                                 "first_in_order, prefer_human")


DECISIONS = _frame([
    (1, "mod", "y", "llm", "moderator"), (1, "olga", "x", "human", "adjudicator"),
    (1, "mod2", "y", "llm", "moderator"), (4, "olga", "z", "human", "adjudicator"),
    (2, "mod", "y", "llm", "moderator"), (2, "mod2", "x", "llm", "moderator"),
    (3, "olga", None, "human", "adjudicator"),
], ("item_id", "annotator", "label", "annotator_kind", "role"))


def test_decisions_take_precedence_adjudicator_first_then_the_last_row() -> None:
    frame = pd.concat([VOTES, DECISIONS], ignore_index=True)
    decided = decision_labels(frame)
    assert decided.to_dict("index") == {
        1: {"label": "x", "source": "adjudicator", "decided_by": "olga"},
        2: {"label": "x", "source": "moderator", "decided_by": "mod2"},
        4: {"label": "z", "source": "adjudicator", "decided_by": "olga"}}
    out = final_labels(frame).set_index("item_id")
    assert [out.loc[i, "label"] for i in (1, 2, 4, 5)] == ["x", "x", "z", 10]
    assert [out.loc[i, "source"] for i in (1, 2, 3, 4, 5)] == [
        "adjudicator", "moderator", "unresolved", "adjudicator", "majority"]
    no_share = out["support"].isna()
    assert sorted(no_share[no_share].index) == [1, 2, 4]  # a decision has no vote share
    assert out.loc[5, "support"] == pytest.approx(2 / 3)
    assert decision_labels(VOTES).empty and list(decision_labels(VOTES).columns) == [
        "label", "source", "decided_by"]
    assert final_labels(VOTES).equals(majority_vote(VOTES))


def test_final_labels_by_dawid_skene_and_unknown_methods() -> None:
    out = final_labels(VOTES.iloc[:12], method="dawid_skene")
    assert set(out["source"]) == {"dawid_skene"} and not out["tie"].any()
    assert out["n_votes"].isna().all() and list(out["item_id"]) == [1, 2, 3, 5]
    assert list(out.columns) == ["item_id", "label", "source", "support", "n_votes", "tie"]
    with pytest.raises(InvalidInput) as caught:
        final_labels(VOTES, method="x")  # type: ignore[arg-type]
    assert str(caught.value) == "unknown aggregation method 'x'; use majority or dawid_skene"


def test_one_item_rated_two_ways_has_alpha_zero() -> None:
    # D_o = 2/2 and D_e = 2*1*1/(2*1): alpha = 1 - 1 = 0, defined (two categories occur)
    result = krippendorff_alpha(_frame([(1, "A", "a"), (1, "B", "b")]))
    assert result.value == pytest.approx(0.0) and result.reason is None
    assert (result.observed_disagreement, result.expected_disagreement) == pytest.approx(
        (1.0, 1.0))


def test_a_label_paired_once_has_specific_agreement_zero() -> None:
    table = specific_agreement(np.array([[2, 0, 0], [1, 0, 1]]), ["a", "b", "c"])
    assert list(table["n_pairable"]) == [3.0, 0.0, 1.0]
    assert table["specific_agreement"][2] == 0.0  # paired once, with another label
    assert math.isnan(table["specific_agreement"][1])


def test_the_bootstrap_is_seeded_and_takes_the_confidence_asked() -> None:
    frame = _frame([(i, a, lab) for i, pair in enumerate(["aa", "ab", "bb", "bb", "ba", "aa"])
                    for a, lab in zip("AB", pair, strict=True)])
    default = krippendorff_alpha(frame, bootstrap=50).ci
    assert default is not None and default == krippendorff_alpha(frame, bootstrap=50, seed=0).ci
    assert default.confidence == 0.95 and default.seed == 0
    narrow = krippendorff_alpha(frame, bootstrap=50, confidence=0.9).ci
    assert narrow is not None and narrow.confidence == 0.9


def test_whole_kappa_results_when_they_apply_and_when_weights_cannot() -> None:
    ok = fleiss_kappa(_frame([(1, "A", "x"), (1, "B", "x"), (2, "A", "x"), (2, "B", "y")]))
    assert ok == KappaResult(ok.value, "fleiss_kappa", 2, ("A", "B"))
    unordered = cohen_kappa(THREE, "linear")
    assert unordered == KappaResult(
        None, "cohen_kappa", 0, (), "linear", "weighted kappa: ordinal level with text labels "
        "needs an explicit label order (e.g. --order a,b,c)")
    pair = cohen_kappa(THREE, annotators=("A", "B"))
    assert pair == KappaResult(pair.value, "cohen_kappa", 3, ("A", "B"), None)


def test_decision_labels_on_a_frame_with_a_repeated_index() -> None:
    """Found by the mutation run: a frame glued with pd.concat repeats its row index."""
    import pandas as pd

    from annotate.agreement.aggregate import decision_labels

    part = pd.DataFrame({"item_id": ["a", "a"], "annotator": ["m", "p"],
                         "role": ["moderator", "adjudicator"], "label": ["x", "y"]})
    other = pd.DataFrame({"item_id": ["b"], "annotator": ["m"], "role": ["moderator"],
                          "label": ["z"]})
    decided = decision_labels(pd.concat([part, other]))
    assert decided.loc["a", "label"] == "y" and decided.loc["a", "source"] == "adjudicator"
    assert decided.loc["b", "label"] == "z" and decided.loc["b", "decided_by"] == "m"
