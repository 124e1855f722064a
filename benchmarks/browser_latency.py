"""Key press -> next item fully drawn, in a real browser (headless Chromium, Playwright).

`annotate ui` on a fresh SQLite file with three projects (classification, spans, rating; 60
items each, one person per item) and, in the same run, a bare Streamlit page that only shows
a text and goes to the next one on Enter: the floor of the framework on this machine. For
each, a person answers ``--items`` items: the answer is chosen first (a number key; spans are
submitted empty), then the clock starts, Enter is pressed, and the clock stops when the next
item's id is on the page and the script run is over (Streamlit's status widget gone).

    .venv/bin/python benchmarks/browser_latency.py [--items 50]

Prints p50/p95 per kind and the ratio to the bare page's p50/p95 measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ui.launch import free_port, wait_healthy

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
CURRENT = r"""() => { const m = document.body.innerText.match(/item:? (\w+)/);
  return m ? m[1] : null; }"""
# the next item is drawn: another item id on the page, the script run is over (no running
# indicator) and nothing of the last item is left on the page (no stale element)
WAIT_FOR = r"""([old]) => { const m = document.body.innerText.match(/item:? (\w+)/);
  return m && m[1] !== old && !document.querySelector('[data-testid="stStatusWidget"]')
    && !document.querySelector('[data-stale="true"]'); }"""

BARE_APP = '''
import streamlit as st
if "n" not in st.session_state:
    st.session_state.n = 1
def _next():
    st.session_state.n += 1
st.text(f"item b{st.session_state.n}: the delivery was quick and the staff were lovely.")
st.button("Next", shortcut="Enter", on_click=_next)
'''


FIRST = {"classification": "positive", "rating": "1"}  # what key 1 chooses


def seed(db: str, n_items: int) -> tuple[str, dict[str, int]]:
    from annotate.kinds.schema import LabelSchema, RatingFeature
    from annotate.projects.catalog import create_project
    from annotate.projects.policy import RoutingPolicy
    from annotate.queue.routing import PlannedItem, plan_initial_tasks
    from annotate.services.people import add_person, grant
    from annotate.store.engine import open_store
    from annotate.store.models import Item

    store = open_store(db)
    policy = RoutingPolicy(human_annotations=1, llm_annotations=0)
    schemas = {
        "classification": LabelSchema(kind="classification",
                                      labels=["positive", "negative", "neutral"]),
        "spans": LabelSchema(kind="spans", labels=["PER", "LOC"]),
        "rating": LabelSchema(kind="rating", features=[
            RatingFeature(name="fluency", scale=[1, 2, 3, 4, 5])]),
    }
    projects = {}
    with store.session() as session:
        _, token = add_person(session, "bench")
    for name, schema in schemas.items():
        with store.session() as session:
            project = create_project(session, name, schema, policy=policy)
            grant(session, "bench", name)
            items = [Item(project_id=project.id, external_id=f"{name[0]}{i}",
                          text=f"Anna Petrova flew to Kazan on day {i} and liked it.",
                          data={}, meta={}) for i in range(1, n_items + 1)]
            session.add_all(items)
            session.flush()
            plan_initial_tasks(session, project, policy,
                               [PlannedItem(it.id, it.external_id) for it in items])
            projects[name] = project.id
    store.dispose()
    return token, projects


def _start(cmd: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def _timed_enter(page: Any) -> float:
    old = page.evaluate(CURRENT)
    start = time.perf_counter()
    page.keyboard.press("Enter")
    page.wait_for_function(WAIT_FOR, arg=[old], timeout=30_000, polling=5)
    return (time.perf_counter() - start) * 1000


CHOSEN = """([first]) => Array.from(document.querySelectorAll(
  '[data-testid="stBaseButton-primary"]')).some((b) => b.innerText.trim().startsWith(first))"""


def _choose_first(page: Any, first: str) -> None:
    """Press 1 (the first label or point) until the page shows it chosen: a key pressed while
    the new item's buttons are still being bound is lost, as it would be for a person."""
    for _ in range(20):
        page.keyboard.press("1")
        try:
            page.wait_for_function(CHOSEN, arg=[first], timeout=1_000, polling=20)
            _settle(page)
            if page.evaluate(CHOSEN, [first]):
                return
        except Exception:
            continue
    raise SystemExit("the answer could not be chosen with the key 1")


def _settle(page: Any) -> None:
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')"
                           " && !document.querySelector('[data-stale=\"true\"]')",
                           timeout=30_000, polling=20)


def measure_kind(page: Any, url: str, token: str, pid: int, kind: str, n: int) -> list[float]:
    page.goto(f"{url}/?project={pid}")
    page.get_by_label("Personal token", exact=True).and_(page.locator("input")).fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_function(WAIT_FOR, arg=[None], timeout=60_000)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1500)  # the page's key handlers are in place
    times = []
    for _ in range(n):
        if kind != "spans":
            _choose_first(page, FIRST[kind])
        page.wait_for_timeout(450)  # past the submit gate's delay (the person reads)
        times.append(_timed_enter(page))
    return times


def measure_bare(page: Any, url: str, n: int) -> list[float]:
    page.goto(url)
    page.wait_for_function(WAIT_FOR, arg=[None], timeout=60_000)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1500)  # the page's key handlers are in place
    times = []
    for _ in range(n):
        page.wait_for_timeout(200)
        times.append(_timed_enter(page))
    return times


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=50)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = f"sqlite:///{folder / 'bench.db'}"
        token, projects = seed(db, args.items + 5)
        bare = folder / "bare.py"
        bare.write_text(BARE_APP, encoding="utf-8")
        ui_port, bare_port = free_port(), free_port()
        exe = Path(sys.executable).parent
        ui = _start([str(exe / "annotate"), "--db", db, "ui", "--port", str(ui_port)],
                    folder / "ui.log")
        floor = _start([str(exe / "streamlit"), "run", str(bare), "--server.port",
                        str(bare_port), "--server.headless", "true",
                        "--browser.gatherUsageStats", "false"], folder / "bare.log")
        try:
            wait_healthy(f"http://127.0.0.1:{ui_port}", 90)
            wait_healthy(f"http://127.0.0.1:{bare_port}", 90)
            results: dict[str, list[float]] = {}
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
                page = browser.new_page(viewport={"width": 1300, "height": 900})
                results["bare Streamlit page"] = measure_bare(
                    page, f"http://127.0.0.1:{bare_port}", args.items)
                for kind, pid in projects.items():
                    context = browser.new_context(viewport={"width": 1300, "height": 900})
                    results[kind] = measure_kind(context.new_page(),
                                                 f"http://127.0.0.1:{ui_port}", token, pid,
                                                 kind, args.items)
                    context.close()
                browser.close()
        finally:
            _stop(ui)
            _stop(floor)
    base50, base95 = _p(results["bare Streamlit page"], 50), _p(
        results["bare Streamlit page"], 95)
    print(f"Enter -> next item fully drawn, {args.items} items each (ms)")
    print(f"{'page':<22}{'p50':>8}{'p95':>8}{'p50 / floor':>13}{'p95 / floor':>13}")
    for name, values in results.items():
        p50, p95 = _p(values, 50), _p(values, 95)
        print(f"{name:<22}{p50:>8.0f}{p95:>8.0f}{p50 / base50:>12.1f}x{p95 / base95:>12.1f}x")


if __name__ == "__main__":
    main()
