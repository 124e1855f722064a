"""Small datasets shipped with the package for the demo (see README.md for their licences)."""

from __future__ import annotations

from pathlib import Path

DATASETS_DIR = Path(__file__).parent
CONVABUSE_SAMPLE = DATASETS_DIR / "convabuse_sample.csv"
CONVABUSE_LABELS = [
    "not_abusive", "ambiguous", "mildly_abusive", "strongly_abusive", "very_strongly_abusive",
]
