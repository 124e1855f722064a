"""An import creates the tasks the project's routing policy asks for, minus existing answers."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from annotate.io.importing import import_file
from annotate.projects.policy import RoutingPolicy
from annotate.store.engine import Store
from annotate.store.models import Item, Task
from tests.importing.conftest import MakeProject, WriteFile
from tests.importing.helpers import CLASSES, counts

THREE_ITEMS = "id,text\na,one\nb,two\nc,three\n"


def tasks_per_item(store: Store) -> dict[str, Counter[tuple[str, str]]]:
    with store.session() as session:
        rows = session.execute(select(Item.external_id, Task.role, Task.worker_kind)
                               .join(Item, Item.id == Task.item_id))
        out: dict[str, Counter[tuple[str, str]]] = {}
        for ext, role, kind in rows:
            out.setdefault(ext, Counter())[role, kind] += 1
        return out


def test_two_people_and_one_llm_per_item(store: Store, make_project: MakeProject,
                                         write_file: WriteFile) -> None:
    project = make_project("p", CLASSES, RoutingPolicy(human_annotations=2, llm_annotations=1))
    result = import_file(store, project, write_file("items.csv", THREE_ITEMS))
    assert result.tasks == 9 == counts(store, project)["tasks"]
    want = Counter({("annotator", "human"): 2, ("annotator", "llm"): 1})
    assert tasks_per_item(store) == {"a": want, "b": want, "c": want}


def test_helper_first_prepares_before_people(store: Store, make_project: MakeProject,
                                             write_file: WriteFile) -> None:
    policy = RoutingPolicy(helper_first=True, human_annotations=1, llm_annotations=0)
    project = make_project("p", CLASSES, policy)
    import_file(store, project, write_file("items.csv", THREE_ITEMS))
    want = Counter({("helper", "llm"): 1})
    assert tasks_per_item(store) == {"a": want, "b": want, "c": want}


def test_existing_answers_count_towards_the_policy(store: Store, make_project: MakeProject,
                                                   write_file: WriteFile) -> None:
    policy = RoutingPolicy(human_annotations=2, llm_annotations=1, moderator_on_disagreement=True)
    project = make_project("p", CLASSES, policy)
    result = import_file(store, project, write_file(
        "labels.csv",
        "item_id,text,annotator,annotator_kind,label\n"
        "a,one,ann1,human,pos\n"                                   # needs 1 more person, 1 LLM
        "b,two,ann1,human,pos\nb,two,ann2,human,pos\n"             # needs only the LLM
        "c,three,ann1,human,pos\nc,three,ann2,human,neg\nc,three,gpt,llm,pos\n"  # disagree
        "d,four,ann1,human,neg\nd,four,ann2,human,neg\nd,four,gpt,llm,neg\n"))   # settled
    assert tasks_per_item(store) == {
        "a": Counter({("annotator", "human"): 1, ("annotator", "llm"): 1}),
        "b": Counter({("annotator", "llm"): 1}),
        "c": Counter({("moderator", "llm"): 1}),
    }
    assert result.tasks == 4


def test_no_tasks_when_asked(store: Store, make_project: MakeProject,
                             write_file: WriteFile) -> None:
    project = make_project("p", CLASSES, RoutingPolicy(human_annotations=2, llm_annotations=1))
    result = import_file(store, project, write_file("items.csv", THREE_ITEMS), plan_tasks=False)
    assert result.tasks == 0 == counts(store, project)["tasks"]
