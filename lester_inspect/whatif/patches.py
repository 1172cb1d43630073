"""Changes a what-if variant makes to the frame a model is fitted on or scored on.

A patch is a plain dict (``{"change": "missing_values", "column": "age", "fraction": 0.5,
"seed": 123, ...}``) so that the very same patch can be applied in two places: by the
shared execution on the captured frame, and by a from-scratch run of the modified script,
where it is written into the source as a literal. Every patch is a pure function of the
frame and its seed, so both places produce the same frame.
"""
from __future__ import annotations

import zlib
from typing import Callable, Dict, Iterable, List, Sequence

import numpy as np
import pandas as pd


class WhatIfError(ValueError):
    """A what-if analysis that cannot be run as asked on this pipeline (says which part and why)."""


def patch_seed(*parts) -> int:
    """A stable seed from a variant's description (Python's ``hash`` of strings differs per process)."""
    return zlib.crc32(":".join(str(part) for part in parts).encode("utf-8"))


def _rows(length: int, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """A boolean mask of ``round(fraction * length)`` rows, drawn by position."""
    mask = np.zeros(length, dtype=bool)
    mask[rng.choice(length, size=int(round(fraction * length)), replace=False)] = True
    return mask


def _numeric(frame: pd.DataFrame, column: str, change: str) -> pd.Series:
    series = frame[column]
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        raise WhatIfError(f"{change} needs a numeric column; '{column}' has dtype {series.dtype}")
    return series


def _missing_values(frame, column, mask, rng, params):
    frame[column] = frame[column].mask(mask)


def _gaussian_noise(frame, column, mask, rng, params):
    series = _numeric(frame, column, "gaussian_noise")
    noise = rng.normal(0.0, params.get("scale", 1.0) * float(series.std()), len(series))
    frame[column] = series.where(~mask, series + noise)


def _scaling(frame, column, mask, rng, params):
    series = _numeric(frame, column, "scaling")
    factors = rng.choice(np.asarray(params.get("factors", (10, 100, 1000)), dtype=float), len(series))
    frame[column] = series.where(~mask, series * factors)


# Look-alike letters, as a text that went through a wrong encoding or OCR shows them.
_BROKEN = str.maketrans({"a": "á", "e": "è", "i": "ï", "o": "ø", "u": "ü", "s": "$", "l": "1", "E": "€"})


def _broken_characters(frame, column, mask, rng, params):
    series = frame[column]
    if pd.api.types.is_numeric_dtype(series):
        raise WhatIfError(f"broken_characters needs a text column; '{column}' has dtype {series.dtype}")
    chosen = series.iloc[np.flatnonzero(mask)]  # only the chosen rows are translated: text is slow to map
    broken = pd.Series([v.translate(_BROKEN) if isinstance(v, str) else v for v in chosen], index=chosen.index,
                       dtype=object)
    frame[column] = _replaced(series, mask, broken)


def _replaced(series: pd.Series, mask: np.ndarray, values: pd.Series) -> pd.Series:
    """``series`` with its ``mask``ed rows' values from ``values`` (indexed like those rows), dtype kept if it can."""
    result = series.astype(object) if series.dtype != object else series.copy()
    result.iloc[np.flatnonzero(mask)] = values.to_numpy(dtype=object)
    try:
        return result.astype(series.dtype)
    except (TypeError, ValueError):
        return result


def _swapped_columns(frame, column, mask, rng, params):
    other = params["other"]
    first, second = frame[column], frame[other]
    frame[column], frame[other] = first.where(~mask, second), second.where(~mask, first)


def _category_shift(frame, column, mask, rng, params):
    """Each chosen row gets another of the column's categories (in order of first appearance)."""
    series = frame[column]
    categories = pd.unique(series.dropna())
    if len(categories) < 2:
        raise WhatIfError(f"category_shift needs at least two categories in '{column}', found {len(categories)}")
    chosen = np.flatnonzero(mask)
    codes = pd.Categorical(series.iloc[chosen], categories=categories).codes
    shifted = categories[(codes + rng.integers(1, len(categories), len(chosen))) % len(categories)]
    # A missing value stays missing: there is no category to shift it from.
    values = pd.Series(np.where(codes >= 0, shifted, series.iloc[chosen].to_numpy(dtype=object)), dtype=object)
    frame[column] = _replaced(series, mask, values)


def _fill(frame, column, mask, rng, params):
    """Missing values of the column get ``value`` (a statistic of the training frame, computed once)."""
    frame[column] = frame[column].fillna(params["value"])


# Row-dropping changes (data cleaning of the training side) return the rows they keep.
def _drop_missing(frame, column, mask, rng, params):
    return frame[column].notna().to_numpy()


def _drop_outside(frame, column, mask, rng, params):
    """Rows whose value lies outside [low, high] go (missing values stay)."""
    values = frame[column]
    return (values.isna() | values.between(params["low"], params["high"])).to_numpy()


def _drop_duplicates(frame, column, mask, rng, params):
    return ~frame.duplicated().to_numpy()


def _drop_positions(frame, column, mask, rng, params):
    keep = np.ones(len(frame), dtype=bool)
    keep[np.asarray(params["positions"], dtype=int)] = False
    return keep


def _permuted(frame, column, mask, rng, params):
    """The column's values in a random order (rows keep every other column): permutation importance."""
    series = frame[column]
    frame[column] = pd.Series(series.to_numpy()[rng.permutation(len(series))], index=series.index,
                              dtype=series.dtype)


def permutation(patch: dict, length: int) -> np.ndarray:
    """The row order a ``permuted`` patch gives its column in a frame of ``length`` rows (as ``_permuted``)."""
    rng = np.random.default_rng(patch["seed"])
    _rows(length, patch["fraction"], rng)  # drawn before the change runs, as in apply_patches_keeping
    return rng.permutation(length)


Change = Callable[[pd.DataFrame, str, np.ndarray, np.random.Generator, dict], None]
#: The changes a patch can make, by name: each writes the changed column(s) into ``frame``.
CHANGES: Dict[str, Change] = {
    "missing_values": _missing_values,
    "gaussian_noise": _gaussian_noise,
    "scaling": _scaling,
    "broken_characters": _broken_characters,
    "swapped_columns": _swapped_columns,
    "category_shift": _category_shift,
    "permuted": _permuted,
    "fill": _fill,
    "drop_missing": _drop_missing,
    "drop_outside": _drop_outside,
    "drop_duplicates": _drop_duplicates,
    "drop_positions": _drop_positions,
}
#: The changes DataCorruption offers (the others serve permutation importance and data cleaning).
CORRUPTIONS = ("broken_characters", "category_shift", "gaussian_noise", "missing_values", "scaling", "swapped_columns")
#: Changes about whole rows rather than one column: their patches name the column ``"*"``.
ROW_CHANGES = frozenset({"drop_duplicates", "drop_positions"})


def make_patch(change: str, column: str, fraction: float = 1.0, seed: int = 0, **params) -> dict:
    if change not in CHANGES:
        raise WhatIfError(f"unknown change {change!r}; known: {', '.join(sorted(CHANGES))}")
    if not 0.0 <= fraction <= 1.0:
        raise WhatIfError(f"{change} on '{column}': fraction must be between 0 and 1, got {fraction}")
    required = {"fill": "value", "drop_positions": "positions", "drop_outside": "high"}
    if change in required and required[change] not in params:
        raise WhatIfError(f"{change} on '{column}' needs {required[change]}=...")
    if change == "swapped_columns" and "other" not in params:
        raise WhatIfError(f"swapped_columns on '{column}' needs the column to swap with (other=...)")
    return {"change": change, "column": column, "fraction": float(fraction), "seed": int(seed), **params}


def patch_columns(patch: dict) -> List[str]:
    """The columns a patch writes or reads (none named for a whole-row change)."""
    if patch["change"] in ROW_CHANGES:
        return []
    return [patch["column"], *([patch["other"]] if "other" in patch else [])]


def apply_patches_keeping(patches: Sequence[dict], frame: pd.DataFrame):
    """``frame`` with ``patches`` applied in order (a new frame), and the positions of the rows kept
    (None when no patch drops rows)."""
    if not patches:
        return frame, None
    if not isinstance(frame, pd.DataFrame):
        raise WhatIfError(f"a what-if change of column '{patches[0]['column']}' needs a DataFrame, "
                          f"got {type(frame).__name__}")
    frame, kept = frame.copy(), None
    for patch in patches:
        missing = [c for c in patch_columns(patch) if c not in frame.columns]
        if missing:
            raise WhatIfError(f"{patch['change']}: column {missing[0]!r} is not in the frame; its columns are "
                              f"{', '.join(map(str, frame.columns))}")
        rng = np.random.default_rng(patch["seed"])
        mask = _rows(len(frame), patch["fraction"], rng)
        params = {k: v for k, v in patch.items() if k not in ("change", "column", "fraction", "seed")}
        keep = CHANGES[patch["change"]](frame, patch["column"], mask, rng, params)
        if keep is not None:
            frame = frame.iloc[np.flatnonzero(keep)]
            kept = np.flatnonzero(keep) if kept is None else kept[np.flatnonzero(keep)]
    return frame, kept


def apply_patches(patches: Sequence[dict], frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``patches`` applied in order, as a new frame (the input is not changed)."""
    return apply_patches_keeping(patches, frame)[0]


def rows_kept(labels, kept):
    """``labels`` (a Series, array or list) at the positions a row-dropping patch kept."""
    if kept is None:
        return labels
    if isinstance(labels, (pd.Series, pd.DataFrame)):
        return labels.iloc[kept]
    return np.asarray(labels)[kept]


def touched_columns(patches: Iterable[dict]) -> set:
    return {column for patch in patches for column in patch_columns(patch)}
