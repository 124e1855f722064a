"""The queries behind ``annotate status``, as SQL text with ``:name`` parameters.

Two runners execute the same text: the store's session (:func:`session_rows`, SQLAlchemy's
``text()``) for every command, and a bare ``sqlite3`` connection for ``annotate status NAME
--json`` on a SQLite database at head (:mod:`annotate.cli.status_json`), which so starts
without SQLAlchemy, Typer or pydantic (importing them is most of what the command cost:
#17 item 5). One text for both, so the two answers cannot drift
(``tests/test_status_queries.py`` compares them byte for byte). This module imports nothing
outside the standard library.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

Rows = Callable[[str, Mapping[str, Any]], Sequence[Sequence[Any]]]
"""Runs one statement with its parameters and returns all its rows."""

ACTIONS = ("chose", "edited", "own")
CHOICE_KEY = "choice"  # where an answer's choice trace sits in its meta

PROJECT = "SELECT id, name, kind, budget_usd, policy FROM projects WHERE name = :name"
# Items, tasks by (role, status) and answers by annotator kind, as kept by the database's
# triggers (migration 0013, table project_counts): counting them per call read 3M task rows,
# 2M answers and 1M items at 1M items (0.7-1.1 s). A key whose sum is 0 is left out, as a
# count of no rows was.
COUNTS = ("SELECT what, k1, k2, CAST(sum(n) AS BIGINT) FROM project_counts "
          "WHERE project_id = :pid GROUP BY what, k1, k2 HAVING sum(n) <> 0")
# the whole ledger in one pass (it was three counts): a NULL `cached` or `outcome` counts in
# none of the columns, as `cached IS false` / `outcome != 'ok'` did
LEDGER = ("SELECT count(CASE WHEN NOT cached THEN 1 END), "
          "coalesce(sum(CASE WHEN NOT cached THEN cost_usd END), 0.0), "
          "coalesce(sum(CASE WHEN NOT cached THEN prompt_tokens + completion_tokens END), 0), "
          "count(CASE WHEN cached THEN 1 END), "
          "count(CASE WHEN outcome <> 'ok' THEN 1 END) "
          "FROM llm_calls WHERE project_id = :pid")
HAS_SUGGESTION = "SELECT id FROM suggestions WHERE project_id = :pid LIMIT 1"
# A trace's action and edit distance read by the database from the answer's meta, per
# dialect: only answers that carry a trace come back, and no meta is decoded in Python (at
# 100k answers that decoding was most of `status`). PostgreSQL's `->` returns json, which the
# driver decodes to the number as stored; SQLite's json_extract returns it as a number.
_TRACE_FIELDS = {
    "sqlite": ("json_extract(meta, '$.choice.action')",
               "json_extract(meta, '$.choice.edit_distance')"),
    "postgresql": ("(meta -> 'choice' ->> 'action')",
                   "(meta -> 'choice' -> 'edit_distance')"),
}


def choice_traces_sql(dialect: str) -> str:
    """Final human annotator answers whose meta carries a choice trace with a known action:
    ``annotator_id, human_seconds, action, edit_distance``."""
    action, distance = _TRACE_FIELDS[dialect]
    return (f"SELECT annotator_id, human_seconds, {action}, {distance} FROM annotations "
            "WHERE project_id = :pid AND annotator_kind = 'human' AND role = 'annotator' "
            f"AND phase = 'final' AND {action} IN ('chose', 'edited', 'own')")


def session_rows(session: Session) -> Rows:
    """A runner over the store's session (the command's transaction)."""
    from sqlalchemy import text

    def rows(sql: str, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        return session.execute(text(sql), dict(params)).all()

    return rows


def status_counts(rows: Rows, project_id: int) -> dict[str, Any]:
    """Items, tasks by state and by role, annotations by annotator kind, LLM calls (cache
    hits too) and their cost: the fields of ``ProjectStatus`` after name and kind."""
    counted: dict[tuple[str, str, str], int] = {}
    for what, k1, k2, count in rows(COUNTS, {"pid": project_id}):
        counted[what, k1, k2] = int(count)
    tasks: dict[str, int] = {}
    by_role: dict[str, dict[str, int]] = {}
    annotations: dict[str, int] = {}
    for (what, k1, k2), count in sorted(counted.items()):  # by role, then state, on both
        if what == "tasks":
            tasks[k2] = tasks.get(k2, 0) + count
            by_role.setdefault(k1, {})[k2] = count
        elif what == "annotations":
            annotations[k1] = count
    items = counted.get(("items", "", ""), 0)
    ledger = ledger_totals(rows, project_id)
    return {"items": items, "tasks": tasks, "tasks_by_role": by_role,
            "annotations": annotations, "llm_calls": int(ledger["calls"] + ledger["cached"]),
            "cost_usd": ledger["cost_usd"]}


def ledger_totals(rows: Rows, project_id: int) -> dict[str, float]:
    """Calls made (cache hits apart), their cost and tokens, cache hits, and calls that
    failed or gave invalid output."""
    calls, cost, tokens, cached, not_ok = rows(LEDGER, {"pid": project_id})[0]
    return {"calls": float(calls), "cost_usd": float(cost), "tokens": float(tokens),
            "cached": float(cached), "not_ok": float(not_ok)}


def choice_table(rows: Rows, project_id: int, dialect: str) -> list[dict[str, Any]]:
    """Per person, over their final answers made with the Helper's candidates on screen: the
    share that chose one as it was, edited one, or wrote their own, the median seconds an
    item took for each, and the median characters changed by an edit."""
    if not rows(HAS_SUGGESTION, {"pid": project_id}):
        return []  # no Helper candidates in the project: no answer can carry a choice
    people: dict[str, dict[str, list[Any]]] = {}
    for who, seconds, action, distance in rows(choice_traces_sql(dialect), {"pid": project_id}):
        p = people.setdefault(who, {a: [] for a in (*ACTIONS, "distance")})
        p[action].append(seconds)
        if action == "edited" and distance is not None:
            p["distance"].append(distance)
    return [_use_row(who, p) for who, p in sorted(people.items())]


def _use_row(who: str, p: Mapping[str, list[Any]]) -> dict[str, Any]:
    answers = sum(len(p[a]) for a in ACTIONS)
    row: dict[str, Any] = {"person": who, "answers": answers}
    for action in ACTIONS:
        row[f"{action}_share"] = len(p[action]) / answers
        seconds = [float(s) for s in p[action] if s is not None]
        row[f"median_s_{action}"] = statistics.median(seconds) if seconds else None
    row["median_edit_distance"] = statistics.median(p["distance"]) if p["distance"] else None
    return row
