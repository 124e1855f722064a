"""The long-form ratings table: checking it, and coding it once into integer arrays.

Every statistic in this package starts from a long-form frame with one row per
(item, annotator) judgement: ``item_id, annotator, label`` plus an optional
``annotator_kind`` (``human`` / ``llm``; ``annotator_type`` is read as an alias), an
optional ``role`` (rows whose role is ``moderator`` or ``adjudicator`` are decisions, not
annotations, and are left out of agreement) and an optional ``rationale``.

:func:`code_ratings` turns such a frame into a :class:`CodedRatings`: items, annotators
and labels factorised into integer codes, with the label domain fixed (and ordered when
the level of measurement needs an order). The item x value count matrix that alpha,
percent agreement and the bootstrap share is one ``bincount`` away.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd

from annotate.errors import InvalidInput

Level = Literal["nominal", "ordinal", "interval", "ratio"]
Kind = Literal["human", "llm"]
LEVELS: tuple[str, ...] = get_args(Level)
KINDS: tuple[str, ...] = get_args(Kind)
REQUIRED_COLUMNS: tuple[str, ...] = ("item_id", "annotator", "label")
AGREEMENT_COLUMNS: tuple[str, ...] = (*REQUIRED_COLUMNS, "annotator_kind", "annotator_type", "role")
DECISION_ROLES = frozenset({"moderator", "adjudicator"})

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def check_columns(frame: pd.DataFrame, required: Sequence[str] = REQUIRED_COLUMNS,
                  source: str = "the table") -> None:
    """Raise :class:`InvalidInput` naming the missing columns, if any."""
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InvalidInput(
            f"{source} lacks column(s) {', '.join(missing)}; "
            f"a long-form table needs {', '.join(required)}"
        )


def check_level(level: str) -> Level:
    if level not in LEVELS:
        raise InvalidInput(f"unknown level {level!r}; use one of {', '.join(LEVELS)}")
    return level  # type: ignore[return-value]


def normalise_kinds(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the frame with ``annotator_kind`` (from ``annotator_type`` if need be) checked.

    The spelling is normalised on the distinct kinds only (a project has two), not row by
    row."""
    if "annotator_kind" not in frame.columns and "annotator_type" in frame.columns:
        frame = frame.rename(columns={"annotator_type": "annotator_kind"})
    if "annotator_kind" not in frame.columns:
        return frame
    codes, spellings = pd.factorize(frame["annotator_kind"])
    normalised = pd.Series(spellings, dtype=object).astype("string").str.strip().str.lower()
    bad = sorted(set(normalised.dropna().unique()) - set(KINDS))
    if bad:
        raise InvalidInput(f"annotator_kind must be human or llm; found {', '.join(bad)}")
    kinds = _take(normalised.astype(object).to_numpy(), codes, pd.NA)
    frame = frame.assign(annotator_kind=pd.Series(kinds, index=frame.index, dtype=object))
    mixed = _mixed_kinds(frame["annotator"], codes, normalised)
    if mixed:
        names = ", ".join(map(str, mixed))
        raise InvalidInput(f"annotator(s) {names} appear as both human and llm")
    return frame


def _take(values: npt.NDArray[Any], codes: npt.NDArray[np.intp], missing: object
          ) -> npt.NDArray[Any]:
    """``values[codes]`` with ``missing`` where a code is -1 (pandas' code for NA)."""
    padded = np.empty(len(values) + 1, dtype=object)
    padded[:-1] = values
    padded[-1] = missing
    taken: npt.NDArray[Any] = padded[codes]
    return taken


def _mixed_kinds(annotators: pd.Series, kind_codes: npt.NDArray[np.intp],
                 normalised: pd.Series) -> list[object]:
    """Annotators (in sorted order) that appear with more than one kind."""
    kind_of_spelling, _ = pd.factorize(normalised)  # two spellings of one kind: one code
    known = kind_codes >= 0
    kinds = np.asarray(kind_of_spelling, dtype=np.int64)[kind_codes[known]]
    who, names = pd.factorize(annotators[known])
    n_kinds = max(1, len(normalised))
    pairs = np.unique(np.asarray(who, dtype=np.int64) * n_kinds + kinds)
    per_annotator = np.bincount(pairs // n_kinds, minlength=len(names))
    mixed = pd.Index(names[per_annotator > 1])
    return list(mixed.sort_values()) if len(mixed) else []


def annotation_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows that count for agreement.

    Checks the required columns, normalises ``annotator_kind``, drops moderator/adjudicator
    decisions and rows without a label, and rejects an annotator labelling an item twice.
    """
    return _checked_rows(frame).rows


@dataclass(frozen=True)
class _CheckedRows:
    rows: pd.DataFrame
    item_codes: IntArray
    items: pd.Index
    annotator_codes: IntArray
    annotators: tuple[str, ...]


def _checked_rows(frame: pd.DataFrame) -> _CheckedRows:
    check_columns(frame)
    frame = normalise_kinds(frame)
    keep = (frame["label"].notna() & frame["item_id"].notna()
            & frame["annotator"].notna()).to_numpy(dtype=bool, copy=True)
    if "role" in frame.columns:
        keep &= ~_per_distinct(frame["role"], _is_decision)
    if isinstance(frame["label"].dtype, pd.StringDtype) or frame["label"].dtype == object:
        keep &= ~_per_distinct(frame["label"], _is_blank)
    if not keep.all():
        frame = frame[keep]
    frame = frame.reset_index(drop=True)
    item_codes, items = pd.factorize(frame["item_id"])
    annotator_codes, annotators = _factorized_names(frame["annotator"])
    checked = _CheckedRows(rows=frame, item_codes=np.asarray(item_codes, dtype=np.int64),
                           items=pd.Index(items), annotator_codes=annotator_codes,
                           annotators=annotators)
    _reject_repeats(checked)
    return checked


def _per_distinct(column: pd.Series, test: Any) -> npt.NDArray[np.bool_]:
    """``test`` (a function of a text Series) of each row's value, run on the distinct
    values only; False where the value is missing."""
    codes, uniques = pd.factorize(column)
    verdicts = test(pd.Series(uniques, dtype=object).astype("string"))
    verdict = np.append(verdicts.fillna(False).to_numpy(dtype=bool), False)
    result: npt.NDArray[np.bool_] = verdict[codes]
    return result


def _is_decision(roles: pd.Series) -> pd.Series:
    return roles.str.lower().isin(DECISION_ROLES)


def _is_blank(labels: pd.Series) -> pd.Series:
    return labels.str.strip() == ""


def _factorized_names(annotators: pd.Series) -> tuple[IntArray, tuple[str, ...]]:
    """Codes of the annotators by name (``1`` and ``"1"`` are one annotator), first seen
    first, computed on the distinct values."""
    codes, uniques = pd.factorize(annotators)
    name_codes, names = pd.factorize(pd.Index([str(u) for u in uniques], dtype=object))
    by_name = np.asarray(name_codes, dtype=np.int64)[np.asarray(codes, dtype=np.int64)]
    return by_name, tuple(str(a) for a in names)


def _reject_repeats(checked: _CheckedRows) -> None:
    cells = len(checked.items) * max(1, len(checked.annotators))
    key = checked.item_codes * max(1, len(checked.annotators)) + checked.annotator_codes
    if cells <= 50_000_000:  # a dense count is one linear pass
        per_cell = np.bincount(key, minlength=cells)
        if per_cell.max(initial=0) <= 1:
            return
        repeated = per_cell[key] > 1
    else:
        unique, counts = np.unique(key, return_counts=True)
        if len(unique) == len(key):
            return
        repeated = np.isin(key, unique[counts > 1])
    first = checked.rows[repeated].iloc[0]
    raise InvalidInput(
        f"{int(repeated.sum())} rows repeat an (item_id, annotator) pair, e.g. annotator "
        f"{first['annotator']!r} on item {first['item_id']!r}; keep one judgement per pair")


def annotator_kinds(frame: pd.DataFrame) -> dict[str, Kind | None]:
    """Each annotator's kind (None when the frame has no ``annotator_kind``)."""
    frame = normalise_kinds(frame)
    codes, uniques = pd.factorize(frame["annotator"])
    names = [str(a) for a in uniques]
    if "annotator_kind" not in frame.columns:
        return dict.fromkeys(names)
    kinds = frame["annotator_kind"].to_numpy(dtype=object)
    rated = np.flatnonzero(pd.notna(kinds) & (codes >= 0))
    who, first = np.unique(codes[rated], return_index=True)  # each one's first known kind
    known = {uniques[w]: kinds[rated[f]] for w, f in zip(who, first, strict=True)}
    return {name: known.get(name) for name in names}


def parse_order(text: str | None) -> list[str] | None:
    """``"a, b,c"`` -> ``["a", "b", "c"]``; empty or None -> None."""
    if text is None or not text.strip():
        return None
    order = [part.strip() for part in text.split(",") if part.strip()]
    if len(set(order)) != len(order):
        raise InvalidInput(f"--order repeats a label: {text}")
    return order


def read_long_csv(path: Path | str, columns: Collection[str] | None = None) -> pd.DataFrame:
    """Read a long-form CSV with every column as text (labels keep their spelling).

    ``columns`` keeps only those of the named columns the file has (the required three must
    be there); None keeps every column. Empty cells are missing; "NA" is a label like any other.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"no such file: {path}")
    options: dict[str, Any] = {"dtype": str, "keep_default_na": False, "na_values": [""]}
    try:
        header = pd.read_csv(path, nrows=0, **options).columns
        check_columns(pd.DataFrame(columns=header), source=str(path))
        if columns is not None:
            options["usecols"] = [c for c in header if c in set(columns) | set(REQUIRED_COLUMNS)]
        try:  # the pyarrow parser is several times faster on large files
            frame: pd.DataFrame = pd.read_csv(path, engine="pyarrow", **options)
        except (ImportError, ValueError):  # let the default parser accept it or say why not
            frame = pd.read_csv(path, **options)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(f"cannot read {path} as CSV: {first_line}") from exc
    return frame


@dataclass(frozen=True)
class CodedRatings:
    """A ratings table coded once: parallel integer arrays, one entry per judgement.

    ``domain`` holds the labels in order (the order matters for ordinal, interval and
    ratio); ``values`` holds the number used for each domain entry by the interval and
    ratio distances (for nominal and ordinal it is just the position).
    """

    level: Level
    items: pd.Index
    annotators: tuple[str, ...]
    domain: tuple[object, ...]
    values: FloatArray
    item_codes: IntArray
    annotator_codes: IntArray
    label_codes: IntArray
    kinds: dict[str, Kind | None]
    notes: tuple[str, ...] = ()

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_values(self) -> int:
        return len(self.domain)

    def value_counts(self, mask: npt.NDArray[np.bool_] | None = None) -> IntArray:
        """Item x value matrix: how many (selected) judgements gave each value to each item."""
        items, labels = self.item_codes, self.label_codes
        if mask is not None:
            items, labels = items[mask], labels[mask]
        flat = np.bincount(items * self.n_values + labels, minlength=self.n_items * self.n_values)
        return flat.reshape(self.n_items, self.n_values).astype(np.int64)

    def kind_mask(self, kind: Kind) -> npt.NDArray[np.bool_]:
        selected = np.array([self.kinds.get(a) == kind for a in self.annotators], dtype=bool)
        if not selected.any():
            return np.zeros(len(self.item_codes), dtype=bool)
        return selected[self.annotator_codes]

    def matrix(self) -> IntArray:
        """Annotator x item matrix of label codes, -1 where an annotator did not rate."""
        out = np.full((len(self.annotators), self.n_items), -1, dtype=np.int64)
        out[self.annotator_codes, self.item_codes] = self.label_codes
        return out


def code_ratings(frame: pd.DataFrame, level: str = "nominal",
                 order: Sequence[object] | None = None) -> CodedRatings:
    """Check and code a long-form frame for the given level of measurement.

    ``order`` is the label order (lowest first). Ordinal data with non-numeric labels needs
    it; interval/ratio data needs numeric labels, or an order whose positions 1..k are then
    used as equally spaced values (stated in ``notes``).
    """
    lvl = check_level(level)
    checked = _checked_rows(frame)
    domain, values, label_codes, notes = _code_labels(checked.rows["label"], lvl, order)
    return CodedRatings(
        level=lvl,
        items=checked.items,
        annotators=checked.annotators,
        domain=tuple(domain),
        values=values,
        item_codes=checked.item_codes,
        annotator_codes=checked.annotator_codes,
        label_codes=label_codes,
        kinds=annotator_kinds(checked.rows),
        notes=tuple(notes),
    )


def _numeric(labels: pd.Series) -> pd.Series | None:
    """The labels as floats, or None if any of them is not a number."""
    if pd.api.types.is_bool_dtype(labels):
        return None
    numbers = pd.to_numeric(labels, errors="coerce")
    if numbers.isna().any() or not np.isfinite(numbers.to_numpy(dtype=float)).all():
        return None
    return numbers.astype(float)


def _code_labels(labels: pd.Series, level: Level, order: Sequence[object] | None
                 ) -> tuple[list[object], FloatArray, IntArray, list[str]]:
    """Fix the label domain and code every label; the work is done on the distinct labels."""
    raw_codes, uniques = pd.factorize(labels)
    raw = np.asarray(raw_codes, dtype=np.int64)
    distinct = pd.Series(list(uniques), dtype=object)
    domain, values, positions, notes = _code_distinct(distinct, level, order)
    codes: IntArray = positions[raw]
    return domain, values, codes, notes


def _code_distinct(labels: pd.Series, level: Level, order: Sequence[object] | None
                   ) -> tuple[list[object], FloatArray, IntArray, list[str]]:
    numbers = _numeric(labels)
    if order is not None:
        domain = list(order)
        codes = _codes_in_order(labels, domain)
        if level in ("interval", "ratio") and numbers is None:
            return domain, np.arange(1.0, len(domain) + 1.0, dtype=np.float64), codes, [
                f"{level} distances use the positions 1..{len(domain)} of the given order"]
        if level in ("interval", "ratio"):
            values = pd.to_numeric(pd.Series([str(o) for o in domain]), errors="coerce")
            if values.isna().any():
                raise InvalidInput(f"{level} level: the order mixes numbers and non-numbers")
            return _check_ratio(domain, values.to_numpy(dtype=np.float64), codes, level)
        return domain, np.arange(len(domain), dtype=np.float64), codes, []
    if numbers is not None and level != "nominal":
        uniq: FloatArray = np.unique(numbers.to_numpy(dtype=np.float64))
        codes = np.asarray(np.searchsorted(uniq, numbers.to_numpy(dtype=np.float64)),
                           dtype=np.int64)
        domain = [_plain_number(v) for v in uniq]
        return _check_ratio(domain, uniq, codes, level)
    if level != "nominal":
        need = "an explicit label order" if level == "ordinal" else "numeric labels or an order"
        raise InvalidInput(f"{level} level with text labels needs {need} (e.g. --order a,b,c)")
    keys = [_label_key(v) for v in labels]
    domain_keys = sorted(set(keys))
    position = {k: i for i, k in enumerate(domain_keys)}
    codes = np.array([position[k] for k in keys], dtype=np.int64)
    first_spelling: dict[str, object] = {}
    for key, label in zip(keys, labels, strict=True):
        first_spelling.setdefault(key, label)
    domain = [first_spelling[k] for k in domain_keys]
    return domain, np.arange(len(domain), dtype=np.float64), codes, []


def _check_ratio(domain: list[object], values: FloatArray, codes: IntArray, level: Level
                 ) -> tuple[list[object], FloatArray, IntArray, list[str]]:
    if level == "ratio" and (values < 0).any():
        raise InvalidInput("ratio level needs non-negative values (there is a true zero)")
    checked: FloatArray = np.asarray(values, dtype=np.float64)
    return domain, checked, codes, []


def _codes_in_order(labels: pd.Series, order: list[object]) -> IntArray:
    if len({_label_key(o) for o in order}) != len(order):
        raise InvalidInput("the label order repeats a label")
    position = {_label_key(o): i for i, o in enumerate(order)}
    keys = labels.map(_label_key)
    codes = keys.map(position)
    unknown = sorted(set(keys[codes.isna()]))
    if unknown:
        shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise InvalidInput(f"label(s) not in the given order: {shown}")
    result: IntArray = np.asarray(codes.to_numpy(), dtype=np.int64)
    return result


def _label_key(value: object) -> str:
    """Compare labels by spelling, so 2, 2.0 and "2" are one label."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def _plain_number(value: float) -> object:
    return int(value) if float(value).is_integer() else float(value)
