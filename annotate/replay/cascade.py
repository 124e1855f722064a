"""A distilled model in a replay (#18 item 6), trained on items the replay does not score.

With ``--train-share`` a seeded share of the dataset's items is set aside by distinct text
(every item whose normalised text is in the set goes with it, so no scored text was seen in
training); a project of those items with all their recorded people is distilled into a
model in the replay's folder. A policy's cascade may name it as the stage :data:`TRAINED`
(``distilled:replay-train``): the placeholder becomes that model. The allocation by the
distilled model's probability uses the same model. The replay then runs on the other items
only: the cascade is scored against the same held-out people as every baseline, with its
human share and its paired difference to majority vote over all people."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from dataclasses import dataclass

from annotate.errors import InvalidInput
from annotate.kinds.optional import distillable
from annotate.projects.policy import RoutingPolicy
from annotate.replay.dataset import ReplayDataset, ReplayItem
from annotate.store.engine import Store

TRAINED = "distilled:replay-train"
TRAIN_PROJECT = "replay-train"


def wants_training(policy: RoutingPolicy) -> bool:
    return any(stage.annotator == TRAINED for stage in policy.cascade)


def split_by_text(items: list[ReplayItem], share: float, seed: int,
                  normalise_text: Callable[[str], str]
                  ) -> tuple[list[ReplayItem], list[ReplayItem]]:
    """(training items, replayed items): a seeded ``share`` of the distinct texts (as
    ``normalise_text`` compares them), and every item with one of those texts, for training;
    the rest is replayed and scored."""
    if not 0 < share < 1:
        raise InvalidInput(f"--train-share must be between 0 and 1 (got {share:g})")
    texts = sorted({normalise_text(it.text) for it in items})
    rng = random.Random(f"train-split:{seed}")
    chosen = set(rng.sample(texts, max(1, round(share * len(texts)))))
    train = [it for it in items if normalise_text(it.text) in chosen]
    rest = [it for it in items if normalise_text(it.text) not in chosen]
    if not rest:
        raise InvalidInput("--train-share leaves no item to replay; lower it")
    return train, rest


def training_project(store: Store, dataset: ReplayDataset, train: list[ReplayItem]) -> str:
    """A project of the ``train`` items, each with all its recorded people (or its gold), in
    ``store``; returns its name (to distil)."""
    from annotate.projects.catalog import create_project
    from annotate.store.models import Annotation, Item

    with store.session() as session:
        project = create_project(session, TRAIN_PROJECT, dataset.schema,
                                 policy=RoutingPolicy(human_annotations=0, llm_annotations=0),
                                 guideline=dataset.guideline)
        for item in train:
            row = Item(project_id=project.id, external_id=item.external_id, text=item.text,
                       data=item.data, meta=item.meta)
            session.add(row)
            session.flush()
            labels = dict(item.people) if item.gold is None else {"gold": item.gold}
            session.add_all(Annotation(project_id=project.id, item_id=row.id,
                                       annotator_id=person, annotator_kind="human",
                                       role="annotator", value=dataset.value_of(label),
                                       source="replay")
                            for person, label in labels.items())
    return TRAIN_PROJECT


def with_trained_stage(policy: RoutingPolicy, model: str) -> RoutingPolicy:
    """``policy`` with the :data:`TRAINED` placeholder replaced by ``model``."""
    stages = [stage.model_copy(update={"annotator": model}) if stage.annotator == TRAINED
              else stage for stage in policy.cascade]
    return policy.model_copy(update={"cascade": stages})


Distil = Callable[[str], str]
"""Distils the named project of ``store``; returns the model string (the edge passes
:func:`annotate.distill.train.distill_project`: replay and distill are separate features)."""


@dataclass(frozen=True)
class Prepared:
    """What the replay runs on: the dataset less the training items, the policy with the
    placeholder resolved, notes for the report and the trained model (None: none trained)."""

    dataset: ReplayDataset
    policy: RoutingPolicy
    notes: list[str]
    model: str | None = None


def prepare(store: Store, dataset: ReplayDataset, policy: RoutingPolicy, share: float,
            seed: int, distil: Distil, normalise_text: Callable[[str], str]) -> Prepared:
    """Split, train and resolve the placeholder. With ``share`` a distilled model is trained
    on the split whether or not the cascade names :data:`TRAINED` (the replay's allocation
    by the distilled model's probability uses it too, :mod:`annotate.replay.allocation`);
    without ``share`` nothing is trained and the dataset and policy are unchanged."""
    if not share:
        if wants_training(policy):
            raise InvalidInput(f"the policy's cascade has a stage {TRAINED!r}: give "
                               "--train-share (e.g. 0.3), the share of items it is trained on")
        return Prepared(dataset, policy, [])
    if not distillable(dataset.schema.kind):
        raise InvalidInput(f"a distilled model cannot answer {dataset.path.name}: "
                           f"{dataset.schema.kind} is not distillable; drop --train-share")
    train, rest = split_by_text(dataset.items, share, seed, normalise_text)
    model = distil(training_project(store, dataset, train))
    notes = [f"the distilled model ({model}) was trained on {len(train)} items (a seeded "
             f"split by distinct text, seed {seed}) that the replay does not score; "
             f"{len(rest)} items replayed"]
    return Prepared(dataclasses.replace(dataset, items=rest),
                    with_trained_stage(policy, model), notes, model)
