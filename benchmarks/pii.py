"""Benchmark: the personal-data detector on the labelled set, beside the old regex scan.

    .venv/bin/python benchmarks/pii.py [--repeat 3]

Prints recall and precision per kind on ``tests/data/pii/pii_set.jsonl`` (definitions in
``annotate/llm/pii/scoring.py``) for the detector (``annotate.llm.pii.detect``) and for the
baseline, the
regex-only scan the project had before (e-mail, Luhn card, phone patterns; no names), then
items per second of each, measured in the same run (best of ``--repeat``, after a warm-up
that loads natasha and pymorphy3).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0]).resolve() == _HERE:
    sys.path.pop(0)
sys.path.insert(0, str(_HERE.parent))

from annotate.llm.pii import Span, detect
from annotate.llm.pii.scoring import load_set, score

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_PHONE = re.compile(r"(?<![\w+])\+?\d[\d ()-]{7,}\d(?!\w)")


def baseline(text: str) -> list[Span]:
    """The regex-only detector this project had before annotate/llm/pii (names left out)."""
    from stdnum import luhn

    spans = [Span(m.start(), m.end(), "EMAIL", 1, "re") for m in _EMAIL.finditer(text)]
    spans += [Span(m.start(), m.end(), "CARD", 1, "re") for m in _CARD.finditer(text)
              if luhn.is_valid(re.sub(r"\D", "", m.group(0)))]
    taken = [(s.start, s.end) for s in spans]
    spans += [Span(m.start(), m.end(), "PHONE", 1, "re") for m in _PHONE.finditer(text)
              if 9 <= len(re.sub(r"\D", "", m.group(0))) <= 15
              and not any(a < m.end() and m.start() < b for a, b in taken)]
    return spans


def items_per_second(texts: list[str], run: Callable[[str], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for text in texts:
            run(text)
        best = min(best, time.perf_counter() - started)
    return len(texts) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = load_set()
    texts = [r["text"] for r in rows]
    detect(texts[0] + " Иван Петров")  # warm-up: natasha, pymorphy3, the first-name list
    ours, old = score(rows, detect), score(rows, baseline)
    print(f"{len(rows)} items, {sum(k.labelled for k in ours.kinds.values())} labelled spans")
    print(f"{'kind':14} {'n':>4} {'recall':>7} {'precision':>9} | {'baseline R':>10} "
          f"{'P':>5}")
    for kind, k in ours.kinds.items():
        b = old.kinds[kind]
        b_precision = f"{b.precision:.3f}" if b.detected else "-"
        print(f"{kind:14} {k.labelled:>4} {k.recall:>7.3f} {k.precision:>9.3f} | "
              f"{b.recall:>10.3f} {b_precision:>5}")
    print(f"labelled values left in the text: detector {len(ours.leaked)}, "
          f"baseline {len(old.leaked)}")
    fast = items_per_second(texts, baseline, args.repeat)
    slow = items_per_second(texts, detect, args.repeat)
    print(f"items/s: detector {slow:,.0f}, baseline {fast:,.0f} "
          f"(detector takes {fast / slow:.0f}x the baseline's time)")


if __name__ == "__main__":
    main()
