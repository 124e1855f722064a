"""Published worked examples, as long-form frames (shared by the agreement tests)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the 4 coders x 12 units
# example with missing values (None). Published: nominal .743, ordinal .815, interval .849,
# ratio .797.
KRIPPENDORFF_2011: dict[str, list[int | None]] = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}

# Fleiss (1971), 30 subjects x 6 psychiatric diagnoses each (1 depression, 2 personality
# disorder, 3 schizophrenia, 4 neurosis, 5 other); kappa = 0.430 (R irr::kappam.fleiss 0.4302445).
FLEISS_1971 = [
    [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5],
    [2, 2, 2, 4, 4, 4], [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4],
    [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5], [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4],
    [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5], [3, 3, 3, 3, 3, 5],
    [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4],
    [1, 4, 4, 4, 4, 5], [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4],
    [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
]

# The "anxiety" ratings of R's irr package (20 subjects x 3 raters); R irr::kappa2 on
# raters 2 and 3: unweighted -0.006289308, "equal" (linear) 0.1459075, "squared" 0.2520325.
ANXIETY = np.array([
    3, 3, 3, 4, 5, 5, 2, 3, 5, 2, 2, 6, 1, 5, 2, 2, 1, 2, 4, 3,
    3, 6, 4, 6, 2, 4, 2, 4, 3, 3, 2, 3, 3, 3, 2, 2, 1, 3, 3, 4,
    2, 1, 4, 4, 3, 2, 1, 6, 1, 1, 1, 2, 3, 3, 1, 1, 3, 3, 2, 2,
]).reshape(20, 3, order="F")


def long_frame(columns: Mapping[str, Sequence[object]]) -> pd.DataFrame:
    """Annotator -> values per unit (None = missing) as a long-form frame."""
    rows = [(unit, annotator, value) for annotator, values in columns.items()
            for unit, value in enumerate(values) if value is not None]
    return pd.DataFrame(rows, columns=["item_id", "annotator", "label"])


def matrix_frame(matrix: np.ndarray | list[list[int]], prefix: str = "r") -> pd.DataFrame:
    """Items x raters matrix as a long-form frame."""
    arr = np.asarray(matrix)
    return long_frame({f"{prefix}{j + 1}": list(arr[:, j]) for j in range(arr.shape[1])})
