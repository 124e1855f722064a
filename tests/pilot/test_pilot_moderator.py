"""With a cascade, the pilot decides the moderator on the cascade's last stage: people meet
that stage's unsure answers, not the single best model's.

Known answer: people are right on 90% of the items (human error 0.1). ``fake/cheap`` is the
best model alone (threshold 0.9); below 0.9 it is right on 4 of 10 answers, so alone a
person should settle disagreements (moderator off). In the cascade ``cheap -> dear`` the
answers people meet are ``fake/dear``'s below its threshold 0.8: right on 19 of 20, more
often than a person, so the moderator settles them (on)."""

from __future__ import annotations

from annotate.pilot.cascade import CascadeAdvice, Plan, with_cascade
from annotate.pilot.metrics import CoveragePoint, Skill
from annotate.pilot.recommend import Choice, ModelReport, Recommendation, moderator_on
from annotate.pilot.run import Usage

HUMAN_ERROR = 0.1
BASE_POLICY = {"human_annotations": 1, "llm_annotations": 1, "human_below_confidence": 0.9,
               "moderator_on_disagreement": False, "double_annotation_share": 0.05}


def point(threshold: float, n: int, right: int) -> CoveragePoint:
    return CoveragePoint(threshold=threshold, coverage=n / 100, accuracy=right / n, n=n,
                         expected_cost=0.0, expected_accuracy=0.0)


def report(model: str, best: float, points: list[CoveragePoint]) -> ModelReport:
    """A model's pilot report; only its curve and recommended threshold matter here."""
    skill = Skill(majority_label="a", majority_share=0.5, accuracy=0.9, difference=0.4,
                  difference_ci=(0.3, 0.5), auroc=0.8, auroc_ci=(0.7, 0.9), n=100,
                  beats_majority=True, confidence_separates=True, reasons=())
    choice = Choice(best, 0.9, 0.2, 0.9)
    return ModelReport(
        model=model, items=100, evaluable=100, valid=100, invalid=0, errors=0,
        invalid_rate=0.0, accuracy=0.9, accuracy_ci=(0.8, 0.95), alpha=0.8,
        alpha_ci=(0.7, 0.9), alpha_note=None, ece=0.05, reliability=[], coverage=points,
        llm_cost_per_item=0.0, cost_per_1000=0.0, seconds_per_1000=0.0,
        model_seconds_per_1000=0.0, usage=Usage(), llm_only=choice, best=choice,
        cheapest=choice, skill=skill)


CHEAP = report("fake/cheap", 0.9, [point(0.0, 100, 94), point(0.8, 95, 91),
                                   point(0.9, 90, 90)])  # below 0.9: 4 of 10 right
DEAR = report("fake/dear", 0.8, [point(0.0, 100, 99), point(0.8, 80, 80),
                                 point(0.9, 60, 60)])  # below 0.8: 19 of 20 right


def single_recommendation() -> Recommendation:
    moderator, why = moderator_on(CHEAP, HUMAN_ERROR)
    policy = {**BASE_POLICY, "moderator_on_disagreement": moderator}
    return Recommendation("fake/cheap", CHEAP.best, policy, Choice(None, 0.0, 1.0, 0.9),
                          CHEAP.llm_only, ["fake/cheap: LLM alone at confidence >= 0.9",
                                           "double annotation on 5%", why])


def test_alone_the_best_model_leaves_disagreements_to_a_person() -> None:
    moderator, why = moderator_on(CHEAP, HUMAN_ERROR)
    assert not moderator and "right only 40%" in why


def test_with_a_cascade_the_moderator_follows_the_last_stage() -> None:
    cascade = Plan(stages=(("fake/cheap", 0.9), ("fake/dear", 0.8)), expected_cost=0.05,
                   expected_accuracy=0.97, human_share=0.02, decided=(0.9, 0.08))
    singles = [Plan((("fake/cheap", 0.9),), 0.2, 0.9, 0.1, (0.9,)),
               Plan((("fake/dear", 0.8),), 0.3, 0.9, 0.2, (0.8,))]
    advice = CascadeAdvice(candidates=[], best=cascade, singles=singles, people_only=1.0,
                           items=100)
    assert advice.recommends_cascade
    result = with_cascade(single_recommendation(), advice, [CHEAP, DEAR], HUMAN_ERROR)
    assert result.policy["moderator_on_disagreement"] is True
    assert result.policy["cascade"] == [{"annotator": "fake/cheap", "threshold": 0.9},
                                        {"annotator": "fake/dear", "threshold": 0.8}]
    moderator_reasons = [r for r in result.reasons if "moderator" in r]
    assert moderator_reasons == ["fake/dear (the last stage): moderator on: below the "
                                 "threshold the LLM is right 95%, as often as a person (90%)"]
