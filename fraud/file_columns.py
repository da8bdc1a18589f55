"""The file's own columns as features: which extra columns a model may use, and their encoding.

A fraud team's file carries more than the canonical columns: a category, a channel, a balance,
a city population. Numeric columns become ``num_<col>`` and low-cardinality text columns
``cat_<col>`` (an index into the categories seen in training; others are missing). Dates and
coordinates become ages and distances (`fraud.derived_columns`, also ``num_<name>``). Columns
that would mislead a model are left out, each with its reason: identifiers and free text (too
many distinct values), numbers that name something rather than measure it (a zip code, an
account number), counters that track time (they never repeat after training), and columns
that give the label away (a simulator's scenario name, a rules engine's flag that *is* the
label).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from fraud.derived_columns import compute_derived, find_derived, name_tokens
from fraud.feature_schema import DerivedColumn, string_keys, timestamps_ms

MAX_CATEGORIES = 64
_NUMERIC_SHARE = 0.98  # of non-missing values that must parse as numbers
_ID_UNIQUE_SHARE = 0.5  # integer columns with more distinct values than this look like ids
_TIME_CORRELATION = 0.95
_LEAK_AUC = 0.995  # a single column separating the classes this well is a label in disguise
# Name words that say a number names something (a zip code, an account) rather than measures it:
# anywhere in the name, or as its last word (``account_age_days`` measures; ``account_no`` names).
_CODE_WORDS = frozenset({"zip", "zipcode", "postcode", "plz", "iban", "ssn"})
_CODE_LAST_WORDS = frozenset(
    {"code", "id", "phone", "account", "acct", "sku", "ref", "no", "nr", "number", "num"}
)
_FIXED_WIDTH_DIGITS = 5  # integers all this wide or wider, and all equally wide, are codes


@dataclass(frozen=True)
class FileColumns:
    """Extra columns chosen as features, and the ones left out with why."""

    numeric: tuple[str, ...] = ()
    categories: Mapping[str, tuple[str, ...]] | None = None
    ignored: Mapping[str, str] | None = None
    derived: tuple[DerivedColumn, ...] = ()


def _as_numbers(values: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        return values.astype(float)
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(float)
    return pd.to_numeric(values.astype("string").str.strip(), errors="coerce").astype(float)


def _leaks(values: np.ndarray, y: np.ndarray) -> bool:
    ok = np.isfinite(values)
    if ok.sum() < 20 or len(np.unique(y[ok])) < 2:
        return False
    auc = roc_auc_score(y[ok], values[ok])
    return max(auc, 1 - auc) >= _LEAK_AUC


def _code_reason(column: str, v: np.ndarray, distinct: int) -> str | None:
    """Why an integer column is a code (a zip, an account), not a magnitude; None if it is not."""
    words = name_tokens(column)
    if _CODE_WORDS & set(words) or (words and words[-1] in _CODE_LAST_WORDS):
        return f"code or identifier ({distinct} distinct integers, named like one)"
    if v.min() > 0:
        width = np.floor(np.log10(v)).astype(int) + 1
        if width.min() == width.max() >= _FIXED_WIDTH_DIGITS:
            return f"code or identifier ({distinct} distinct {width.min()}-digit integers)"
    return None


def _few_codes(column: str, nums: pd.Series) -> bool:
    v = nums.to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0 or not np.all(np.mod(v, 1) == 0):
        return False
    distinct = len(np.unique(v))
    return distinct <= MAX_CATEGORIES and _code_reason(column, v, distinct) is not None


def choose_file_columns(
    frame: pd.DataFrame,
    candidates: Iterable[str],
    labels: pd.Series | None = None,
    *,
    coordinates: Iterable[str] = (),
) -> FileColumns:
    """Decide which extra columns become features (on the training rows).

    Args:
        frame: the training rows.
        candidates: extra column names (not canonical, not entity, not ignored by the user).
        labels: ``is_fraud`` of the rows (NA where unknown), for the leak check.
        coordinates: canonical position columns (``lat``, ``lon``) that may pair with the
            extra columns' positions into distances.
    """
    numeric: list[str] = []
    categories: dict[str, tuple[str, ...]] = {}
    ignored: dict[str, str] = {}
    y = None
    if labels is not None:
        lab = pd.to_numeric(labels, errors="coerce").to_numpy(dtype=float)
        y = lab
    candidates = list(candidates)
    found, consumed = find_derived(frame, candidates, tuple(coordinates))
    derived: list[DerivedColumn] = []
    for column in found:
        values = compute_derived(frame, column)
        if y is not None and _leaks(np.where(np.isfinite(y), values, np.nan), np.nan_to_num(y)):
            ignored[column.name] = "gives the label away (separates fraud almost perfectly)"
            continue
        derived.append(column)
        numeric.append(column.name)
    ignored.update(consumed)
    ts = timestamps_ms(frame["timestamp"]).astype(float)
    for col in candidates:
        if col in consumed:
            continue
        values = frame[col]
        present = values.notna()
        if not present.any():
            ignored[col] = "empty"
            continue
        nums = _as_numbers(values)
        parsed = nums.notna() & np.isfinite(nums.fillna(0.0))
        # A code with few values (a handful of zip codes) is a category, not a number.
        if parsed.sum() >= _NUMERIC_SHARE * present.sum() and not _few_codes(col, nums):
            v = nums.to_numpy(dtype=float)
            ok = np.isfinite(v)
            distinct = len(np.unique(v[ok]))
            integral = bool(np.all(np.mod(v[ok], 1) == 0))
            # Time first: a unix-time counter is also mostly distinct, and "tracks time" is
            # the reason a user can act on.
            if ok.sum() > 2 and np.std(v[ok]) > 0:
                ranks = (pd.Series(v[ok]).rank(), pd.Series(ts[ok]).rank())
                corr = abs(float(np.corrcoef(*ranks)[0, 1]))
                if corr >= _TIME_CORRELATION:
                    ignored[col] = f"tracks time (rank correlation {corr:.2f})"
                    continue
            if integral and distinct > _ID_UNIQUE_SHARE * ok.sum() and distinct > MAX_CATEGORIES:
                ignored[col] = "identifier (integers, mostly distinct)"
                continue
            code = _code_reason(col, v[ok], distinct) if integral else None
            if code is not None and distinct > MAX_CATEGORIES:
                ignored[col] = (
                    f"{code}: a number that names something is no magnitude; "
                    "--entity-columns uses it as an entity"
                )
                continue
            if y is not None and _leaks(np.where(np.isfinite(y), v, np.nan), np.nan_to_num(y)):
                ignored[col] = "gives the label away (separates fraud almost perfectly)"
                continue
            numeric.append(col)
            continue
        keys = string_keys(values)
        distinct_keys = pd.unique(keys[present.to_numpy()])
        if len(distinct_keys) > MAX_CATEGORIES:
            ignored[col] = f"identifier or free text ({len(distinct_keys)} distinct values)"
            continue
        cats = tuple(sorted(str(k) for k in distinct_keys))
        if y is not None:
            known = np.isfinite(y)
            code = encode_categories(values, cats)
            rate = pd.Series(np.nan_to_num(y)[known]).groupby(code[known]).mean()
            encoded = pd.Series(code[known]).map(rate).to_numpy(dtype=float)
            full = np.full(len(y), np.nan)
            full[known] = encoded
            if _leaks(full, np.nan_to_num(y)):
                ignored[col] = "gives the label away (separates fraud almost perfectly)"
                continue
        categories[col] = cats
    return FileColumns(tuple(numeric), categories, ignored, tuple(derived))


def encode_numeric(values: pd.Series) -> np.ndarray:
    """A numeric column as float64 (unparseable values missing)."""
    return _as_numbers(values).to_numpy(dtype=np.float64)


def encode_categories(values: pd.Series, categories: tuple[str, ...]) -> np.ndarray:
    """Index of each value among the training categories; NaN for missing or unseen."""
    lookup = {v: float(i) for i, v in enumerate(categories)}
    return np.array([lookup.get(k, np.nan) for k in string_keys(values)], dtype=np.float64)
