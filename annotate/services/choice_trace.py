"""What people chose among the Helper's candidates, kept as data (#19 item 3).

Every human answer made with the Helper's candidates on screen carries, in its ``meta``, a
``choice`` trace::

    {"suggestion_id": 7,
     "shown": [{"id": "c0", "index": 0, "score": 0.91, "scores": {...}, "text": "..."}, ...],
     "action": "chose" | "edited" | "own",
     "chosen": 0, "chosen_id": "c0", "edit_distance": 4, "edit_share": 0.13}

- ``shown``: the candidates as the person saw them, in display order (stored best first):
  every candidate when the kind's answer widget lists them (a text task: choose one, edit it,
  or write your own), else the Helper's top candidate when it is the pre-label shown (label
  kinds). No trace when no candidate was on screen: the pre-label came from an LLM
  annotator, the task was blind-first and not yet revealed, or the Helper made none.
  A candidate's ``text`` is what its option read; ``value`` is kept for a pre-label.
- ``chosen``: the candidate the answer started from (the answer's ``candidate`` index, else
  the shown candidate whose value the answer equals); None when none fits.
- ``action``: ``chose`` (kept as it was), ``edited`` (changed by ``edit_distance``
  characters, Levenshtein; ``edit_share`` is that over the candidate's length) or ``own``.

:func:`choice_use` turns the traces into the dashboard's figures per person.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from annotate.kinds.optional import lists_candidates
from annotate.kinds.registry import get_kind
from annotate.kinds.schema import comparable
from annotate.projects.status_queries import ACTIONS, CHOICE_KEY, choice_table, session_rows

if TYPE_CHECKING:  # pandas only for the frames: `annotate status` reads the rows (#17 item 5)
    import pandas as pd

    from annotate.services.workspace import Candidate, WorkView

KEY = CHOICE_KEY  # where the trace sits in an annotation's meta


def edit_distance(a: str, b: str) -> int:
    """Characters to insert, delete or replace to turn ``a`` into ``b`` (Levenshtein):
    rapidfuzz's when it is installed, else a two-row dynamic programme (a few ms at the
    600 characters a text answer may have)."""
    try:
        from rapidfuzz.distance import Levenshtein
    except ImportError:
        return _levenshtein(a, b)
    return int(Levenshtein.distance(a, b))


def _levenshtein(a: str, b: str) -> int:
    # an edit is mostly local: the shared start and end cost nothing (600 characters with
    # one word changed: 0.1 s without this, well under 1 ms with it)
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end = 0
    while end < min(len(a), len(b)) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    a, b = a[start:len(a) - end], b[start:len(b) - end]
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def shown_candidates(view: WorkView, *, blind_phase: bool = False) -> list[Candidate]:
    """The Helper's candidates on the person's screen when they answered, in display order."""
    if blind_phase or view.hides_suggestion or not view.candidates:
        return []
    if lists_candidates(view.kind):
        return list(view.candidates)
    pre = view.prelabel
    if pre is None or pre.source != "helper":
        return []
    return [c for c in view.candidates if c.value == pre.value][:1]


def trace_of(view: WorkView, value: Mapping[str, Any], *,
             blind_phase: bool = False) -> dict[str, Any] | None:
    """The ``choice`` trace of an answer given on ``view``; None when no candidate showed."""
    shown = shown_candidates(view, blind_phase=blind_phase)
    if not shown:
        return None
    listed = lists_candidates(view.kind)
    entries = [_entry(view.kind, c, listed) for c in shown]
    return {"suggestion_id": view.suggestion_id, "shown": entries,
            **decide(view.kind, entries, value)}


def _entry(kind: str, cand: Candidate, listed: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": cand.id or f"c{cand.index}", "index": cand.index,
                             "score": cand.score}
    if cand.scores:
        entry["scores"] = dict(cand.scores)
    if listed or cand.value is None:
        entry["text"] = cand.text or ""
    else:  # a pre-label: the option read as the kind shows the value
        entry["text"] = get_kind(kind).show(cand.value)
        entry["value"] = dict(cand.value)
    return entry


def decide(kind: str, shown: Sequence[Mapping[str, Any]],
           value: Mapping[str, Any]) -> dict[str, Any]:
    """Which shown candidate (trace entries) the answer started from and how much it changed."""
    chosen = _chosen(kind, shown, value)
    if chosen is None:
        return {"action": "own", "chosen": None, "chosen_id": None, "edit_distance": None,
                "edit_share": None}
    if "value" in chosen:  # a pre-label taken: the same value, nothing typed
        distance = 0
    else:
        distance = edit_distance(str(chosen.get("text") or "").strip(),
                                 get_kind(kind).show(dict(value)).strip())
    length = len(str(chosen.get("text") or "").strip())
    return {"action": "edited" if distance else "chose", "chosen": chosen["index"],
            "chosen_id": chosen.get("id"), "edit_distance": distance,
            "edit_share": round(distance / max(1, length), 4)}


def _chosen(kind: str, shown: Sequence[Mapping[str, Any]],
            value: Mapping[str, Any]) -> Mapping[str, Any] | None:
    index = value.get("candidate")
    if isinstance(index, int) and not isinstance(index, bool):
        found = next((e for e in shown if e.get("index") == index), None)
        if found is not None:
            return found
    for entry in shown:
        if "value" in entry and _same(kind, entry["value"], value):
            return entry
    return None


def _same(kind: str, a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    try:
        return bool(comparable(kind, dict(a)) == comparable(kind, dict(b)))
    except (KeyError, TypeError):
        return False


def retraced(meta: Mapping[str, Any] | None, kind: str,
             value: Mapping[str, Any]) -> dict[str, Any]:
    """An answer's meta with its trace decided again for a changed ``value`` (the same
    candidates were shown); a meta without a trace is returned as it was."""
    out = dict(meta or {})
    trace = out.get(KEY)
    if isinstance(trace, dict) and isinstance(trace.get("shown"), list):
        out[KEY] = {**trace, **decide(kind, trace["shown"], value)}
    return out


# ---- the dashboard's figures ----------------------------------------------------------------

USE_COLUMNS = ["person", "answers", *(f"{a}_share" for a in ACTIONS),
               *(f"median_s_{a}" for a in ACTIONS), "median_edit_distance"]


def choice_use(session: Session, project_id: int) -> pd.DataFrame:
    """:func:`choice_rows` as a frame (``USE_COLUMNS``)."""
    import pandas as pd

    return pd.DataFrame(choice_rows(session, project_id), columns=USE_COLUMNS)


def choice_rows(session: Session, project_id: int) -> list[dict[str, Any]]:
    """Per person, over their final answers made with the Helper's candidates on screen: the
    share that chose one as it was, edited one, or wrote their own, the median seconds an
    item took for each, and the median characters changed by an edit. The database reads the
    traces out of the answers' meta and returns only answers that carry one
    (:func:`annotate.projects.status_queries.choice_table`)."""
    dialect = session.get_bind().dialect.name
    return choice_table(session_rows(session), project_id, dialect)


def shares_long(use: pd.DataFrame) -> pd.DataFrame:
    """``person, action, share`` (one row per person and action): the bar chart's input."""
    import pandas as pd

    return pd.DataFrame([{"person": r["person"], "action": a, "share": r[f"{a}_share"]}
                         for r in use.to_dict("records") for a in ACTIONS],
                        columns=["person", "action", "share"])
