"""Benchmark: Krippendorff's alpha from a long-form CSV, beside the `krippendorff` package alone.

    .venv/bin/python benchmarks/agreement.py [--items 100000] [--annotators 10] [--missing 0.2]

1. alpha for N items x M annotators with a share of ratings missing, from the long-form CSV
   to the number (read, code/pivot, alpha), timed stage by stage;
2. the `krippendorff` package alone on a prebuilt annotator x item matrix, same data, same run;
3. the seeded, vectorised bootstrap: 1,000 resamples of 10k items x 3 annotators.

Each timing is the best of ``--repeat`` runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Running a script puts its folder first on sys.path; benchmarks/ holds a queue.py that would
# then shadow the standard library's `queue` (which pandas' CSV reader imports).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse
import tempfile
import time
from collections.abc import Callable
from typing import TypeVar

import krippendorff
import numpy as np
import numpy.typing as npt
import pandas as pd

from annotate.agreement.alpha import alpha_of_coded
from annotate.agreement.bootstrap import bootstrap_alpha
from annotate.agreement.coincidence import unit_coincidences
from annotate.agreement.table import (
    AGREEMENT_COLUMNS,
    code_ratings,
    read_long_csv,
)

T = TypeVar("T")


def best_of(repeat: int, fn: Callable[[], T]) -> tuple[float, T]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    assert result is not None
    return best, result


def synthetic_matrix(n_items: int, n_annotators: int, missing: float, n_labels: int = 5,
                     seed: int = 0) -> npt.NDArray[np.float64]:
    """Annotator x item labels 1..n_labels (70% copy a hidden truth), NaN where missing."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, n_labels + 1, n_items)
    noise = rng.integers(1, n_labels + 1, (n_annotators, n_items))
    data = np.where(rng.random((n_annotators, n_items)) < 0.7, truth, noise).astype(float)
    data[rng.random(data.shape) < missing] = np.nan
    return data


def write_long_csv(matrix: npt.NDArray[np.float64], path: Path) -> int:
    annotators, items = np.nonzero(~np.isnan(matrix))
    frame = pd.DataFrame({"item_id": [f"item{i}" for i in items],
                          "annotator": [f"coder{a}" for a in annotators],
                          "label": matrix[annotators, items].astype(int)})
    frame.to_csv(path, index=False)
    return len(frame)


def bench_alpha(args: argparse.Namespace) -> None:
    matrix = synthetic_matrix(args.items, args.annotators, args.missing)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ratings.csv"
        n_rows = write_long_csv(matrix, path)
        print(f"alpha: {args.items:,} items x {args.annotators} annotators, "
              f"{args.missing:.0%} missing -> {n_rows:,} long-form rows "
              f"({path.stat().st_size / 1e6:.1f} MB CSV), level {args.level}")
        t_read, frame = best_of(args.repeat, lambda: read_long_csv(path, AGREEMENT_COLUMNS))
        t_naive, naive = best_of(args.repeat, lambda: naive_pivot_alpha(path, args.level))
    t_code, coded = best_of(args.repeat, lambda: code_ratings(frame, args.level))
    t_alpha, ours = best_of(args.repeat, lambda: alpha_of_coded(coded))
    t_pkg, theirs = best_of(args.repeat, lambda: krippendorff.alpha(
        reliability_data=matrix, level_of_measurement=args.level))
    total = t_read + t_code + t_alpha
    assert ours.value is not None and abs(ours.value - theirs) < 1e-9, (ours.value, theirs)
    print(f"  ours, CSV -> number : {total:6.3f} s  (read {t_read:.3f}, code/pivot {t_code:.3f},"
          f" alpha {t_alpha:.3f})  alpha = {ours.value:.6f}")
    print(f"  krippendorff package: {t_pkg:6.3f} s  (prebuilt {matrix.shape[0]} x "
          f"{matrix.shape[1]:,} matrix)            alpha = {theirs:.6f}")
    print(f"  ratio ours / package: {total / t_pkg:.2f}x end to end, "
          f"{(t_code + t_alpha) / t_pkg:.2f}x without reading the CSV")
    print(f"  for scale: pandas read_csv + pivot + package: {t_naive:.3f} s  "
          f"alpha = {naive:.6f}")


def naive_pivot_alpha(path: Path, level: str) -> float:
    """The obvious route: read, pivot to annotator x item, hand the matrix to the package."""
    frame = pd.read_csv(path)
    matrix = frame.pivot(index="annotator", columns="item_id", values="label")
    return float(krippendorff.alpha(reliability_data=matrix.to_numpy(dtype=float),
                                    level_of_measurement=level))


def bench_bootstrap(args: argparse.Namespace) -> None:
    matrix = synthetic_matrix(10_000, 3, 0.0, seed=1)
    annotators, items = np.nonzero(~np.isnan(matrix))
    frame = pd.DataFrame({"item_id": items, "annotator": annotators,
                          "label": matrix[annotators, items]})
    coded = code_ratings(frame, args.level)
    units = unit_coincidences(coded.value_counts())
    bootstrap_alpha(units[:100], coded.values, coded.level, 10)  # warm up
    elapsed, ci = best_of(args.repeat, lambda: bootstrap_alpha(
        units, coded.values, coded.level, 1000, seed=0))
    print(f"bootstrap: 1,000 resamples of 10,000 items x 3 annotators ({args.level}): "
          f"{elapsed:.3f} s  95% CI [{ci.low:.4f}, {ci.high:.4f}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--annotators", type=int, default=10)
    parser.add_argument("--missing", type=float, default=0.2)
    parser.add_argument("--level", default="nominal",
                        choices=["nominal", "ordinal", "interval", "ratio"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    bench_alpha(args)
    bench_bootstrap(args)


if __name__ == "__main__":
    main()
