"""A separable toy project (sports vs cooking, two people's labels per item) on a real store."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

from annotate.io.importing.importer import import_file
from annotate.kinds.schema import LabelSchema
from annotate.projects.catalog import create_project
from annotate.projects.policy import RoutingPolicy
from annotate.store.engine import Store

SPORTS = [
    "The striker scored a late goal in the football match", "The tennis player won the final set",
    "Our team trained hard for the basketball game", "The marathon runners crossed the finish line",
    "The goalkeeper saved a penalty kick", "He hit a home run in the baseball game",
    "The cyclist won the mountain stage of the race", "The swimmer broke the world record",
    "Fans cheered as the hockey team won the cup", "The boxer knocked out his opponent",
    "The coach picked the starting lineup for the match", "She served an ace to win the match",
    "The rugby team scored a try in the last minute", "The golfer sank a long putt",
    "The sprinter won gold in the hundred metres", "The referee showed a red card",
    "The volleyball team won the championship", "Skiers raced down the slope",
    "The cricket batsman scored a century", "The quarterback threw a touchdown pass",
]
COOKING = [
    "Simmer the tomato sauce for twenty minutes", "Whisk the eggs with sugar until fluffy",
    "Bake the bread at two hundred degrees", "Chop the onions and fry them in butter",
    "Season the soup with salt and pepper", "Knead the dough for ten minutes",
    "Roast the chicken with garlic and rosemary", "Boil the pasta in salted water",
    "Marinate the beef overnight in soy sauce", "Stir the risotto while adding stock",
    "Grate the cheese over the lasagna", "Melt the chocolate over hot water",
    "Slice the carrots and steam them", "Add a pinch of cinnamon to the apple pie",
    "Grill the vegetables with olive oil", "Mix flour and butter to make pastry",
    "Fry the fish in a hot pan until crisp", "Mash the potatoes with milk",
    "Toast the spices before adding the curry paste", "Let the cake cool before icing it",
]
TOY = [(f"s{i:02d}", t, "sports") for i, t in enumerate(SPORTS)] + \
      [(f"c{i:02d}", t, "cooking") for i, t in enumerate(COOKING)]


def write_labels(path: Path, rows: list[tuple[str, str, str]], annotators: int = 2) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["item_id", "text", "annotator", "label"])
        for ext, text, label in rows:
            for n in range(annotators):
                out.writerow([ext, text, f"person{n}", label])
    return path


@pytest.fixture
def toy_project(tmp_path: Path) -> Callable[..., str]:
    """``make(store)``: project ``toy`` with the 40 toy items, each labelled by two people,
    and one LLM annotator task per item."""

    def make(store: Store, name: str = "toy") -> str:
        with store.session() as session:
            create_project(session, name, LabelSchema(kind="classification",
                                                      labels=["sports", "cooking"]),
                           policy=RoutingPolicy(human_annotations=0, llm_annotations=1))
        import_file(store, name, write_labels(tmp_path / f"{name}.csv", TOY))
        return name

    return make
