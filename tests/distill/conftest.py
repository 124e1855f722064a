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


QA = [
    ("What is the capital of France?", "Paris is the capital of France."),
    ("How many legs does a spider have?", "A spider has eight legs."),
    ("What gas do plants absorb from the air?", "Plants absorb carbon dioxide from the air."),
    ("Who wrote Romeo and Juliet?", "William Shakespeare wrote Romeo and Juliet."),
    ("What is the boiling point of water at sea level?",
     "Water boils at 100 degrees Celsius at sea level."),
    ("Which planet is known as the red planet?", "Mars is known as the red planet."),
    ("What is the largest ocean on Earth?", "The Pacific is the largest ocean on Earth."),
    ("How many days are in a leap year?", "A leap year has 366 days."),
    ("What language is spoken in Brazil?", "People in Brazil speak Portuguese."),
    ("What is the chemical symbol for gold?", "The chemical symbol for gold is Au."),
    ("Who painted the Mona Lisa?", "Leonardo da Vinci painted the Mona Lisa."),
    ("What is the tallest mountain in the world?", "Mount Everest is the tallest mountain."),
    ("How many continents are there?", "There are seven continents."),
    ("What do bees make?", "Bees make honey from the nectar of flowers."),
    ("What is the freezing point of water?", "Water freezes at zero degrees Celsius."),
    ("Which animal is the largest mammal?", "The blue whale is the largest mammal."),
    ("What is the currency of Japan?", "Japan's currency is the yen."),
    ("How many minutes are in an hour?", "An hour has sixty minutes."),
    ("What organ pumps blood through the body?", "The heart pumps blood through the body."),
    ("What is the main ingredient of guacamole?", "Guacamole is made mostly of avocado."),
    ("Which instrument has black and white keys?", "A piano has black and white keys."),
    ("What is the capital of Italy?", "Rome is the capital of Italy."),
    ("How do you say hello in Spanish?", "Hello in Spanish is hola."),
    ("What is the square root of sixty-four?", "The square root of sixty-four is eight."),
    ("What colour do you get by mixing blue and yellow?",
     "Mixing blue and yellow gives green."),
    ("Which bird is a symbol of peace?", "The dove is a symbol of peace."),
    ("What is the longest river in Africa?", "The Nile is the longest river in Africa."),
    ("What do caterpillars turn into?", "Caterpillars turn into butterflies."),
    ("Which sport uses a bat and wickets?", "Cricket is played with a bat and wickets."),
    ("What is the hardest natural substance?", "Diamond is the hardest natural substance."),
    ("How many players are on a football team on the pitch?",
     "A football team has eleven players on the pitch."),
    ("What is the capital of Germany?", "Berlin is the capital of Germany."),
    ("Which vitamin do we get from sunlight?", "Sunlight helps the body make vitamin D."),
    ("What device measures temperature?", "A thermometer measures temperature."),
    ("What is frozen water called?", "Frozen water is called ice."),
    ("Who was the first person to walk on the Moon?",
     "Neil Armstrong was the first person to walk on the Moon."),
    ("What is the smallest prime number?", "Two is the smallest prime number."),
    ("Which metal is liquid at room temperature?", "Mercury is liquid at room temperature."),
    ("What do you call a baby cat?", "A baby cat is called a kitten."),
    ("What is the capital of Spain?", "Madrid is the capital of Spain."),
    ("Which season comes after winter?", "Spring comes after winter."),
    ("What is the main language of Australia?", "English is the main language of Australia."),
    ("How many sides does a hexagon have?", "A hexagon has six sides."),
    ("What shines in the sky during the day?", "The Sun shines in the sky during the day."),
    ("Which fruit keeps the doctor away, as the saying goes?",
     "An apple a day keeps the doctor away."),
    ("What is the opposite of hot?", "The opposite of hot is cold."),
    ("What do cows drink?", "Cows drink water."),
    ("Which gas do we need to breathe to live?", "We need oxygen to breathe."),
]


EVASIVE = [
    "I don't know.", "Sorry, I cannot help with that.", "That is a difficult question.",
    "Please ask someone else.", "It depends on many things.", "I would rather not say.",
    "Nobody can really tell.", "Let me think about it later.", "Hmm, good question.",
    "I am not sure what you mean.", "Maybe, maybe not.", "Search the internet for that.",
]


def pairwise_rows(seed: int = 0) -> list[dict[str, object]]:
    """PandaLM-style comparisons where the better response answers the instruction and the
    worse one evades it, on a seeded side; three judges agree. (A worse response that
    answers another item's question would teach the model that a text is bad where another
    item taught it was good.)"""
    import random

    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    for index, (question, answer) in enumerate(QA):
        other = EVASIVE[index % len(EVASIVE)]
        better_first = rng.random() < 0.5
        first, second = (answer, other) if better_first else (other, answer)
        label = "response1" if better_first else "response2"
        rows.append({"id": f"q{index:02d}", "instruction": question, "input": "",
                     "response1": first, "response2": second,
                     "human_labels": {f"annotator{n}": label for n in (1, 2, 3)}})
    return rows


def write_pairwise(path: Path, seed: int = 0) -> Path:
    import json

    path.write_text("".join(json.dumps(row) + "\n" for row in pairwise_rows(seed)),
                    encoding="utf-8")
    return path
