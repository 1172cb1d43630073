"""How the user names leaked data: ``customers.csv:customer_id=2,4,6``, ``customers.csv:@2,4,6``, ``mails.csv:mail_subject``."""
from __future__ import annotations

import dataclasses
import os
import secrets
from typing import List, Optional, Tuple
from urllib.parse import quote

import numpy as np


class SpecError(ValueError):
    """A row or column specification that cannot be understood; the message shows the bad part."""


@dataclasses.dataclass(frozen=True)
class RowSpec:
    """Rows of a source file: by key values (``key``) or by 0-based row positions (``positions``)."""

    path: str
    key: Optional[str] = None
    values: Tuple[str, ...] = ()
    positions: Tuple[int, ...] = ()

    @classmethod
    def parse(cls, text: str) -> "RowSpec":
        path, separator, rows = text.rpartition(":")
        if not separator or not path or not rows:
            raise SpecError(f"{text!r}: expected FILE:KEY=V1,V2 or FILE:@ROW1,ROW2")
        if rows.startswith("@"):
            try:
                positions = tuple(int(p) for p in rows[1:].split(","))
            except ValueError:
                positions = ()
            if not positions or min(positions) < 0:
                raise SpecError(f"{text!r}: row positions after '@' must be whole numbers from 0")
            return cls(path, positions=positions)
        key, equals, values = rows.partition("=")
        if not equals or not key or not values:
            raise SpecError(f"{text!r}: expected FILE:KEY=V1,V2 or FILE:@ROW1,ROW2")
        return cls(path, key=key, values=tuple(v.strip() for v in values.split(",")))

    def resolve(self, index_folder: Optional[str] = None, salt: Optional[str] = None, persist: bool = True) -> np.ndarray:
        """The sorted 0-based row positions in the file.

        Key values are looked up in an index of the key column: its values' keyed 64-bit
        hashes (SipHash with the store's secret ``salt``), sorted, and their row positions,
        kept in ``index_folder`` (named by the file's content fingerprint, so it cannot go
        stale) unless ``persist`` is False. The store never holds the key values themselves.
        """
        if self.key is None:
            if not os.path.isfile(self.path):
                raise SpecError(f"{self.path}: no such source file")
            return np.asarray(sorted(set(self.positions)), dtype=np.int64)
        positions, found = self.match(index_folder, salt, persist)
        missing = sorted(set(self.values) - set(found))
        if missing:
            raise SpecError(f"{self.path}: no row has {self.key} = {', '.join(missing)}")
        return positions

    def match(self, index_folder: Optional[str] = None, salt: Optional[str] = None,
              persist: bool = True) -> Tuple[np.ndarray, List[str]]:
        """The sorted row positions with the key values, and the values that were found."""
        if not os.path.isfile(self.path):
            raise SpecError(f"{self.path}: no such source file")
        salt = salt or secrets.token_hex(8)
        hashes, order = self._index(index_folder if persist else None, salt)
        wanted = hash_values(self.values, salt)
        starts, stops = np.searchsorted(hashes, wanted, "left"), np.searchsorted(hashes, wanted, "right")
        found = [value for value, start, stop in zip(self.values, starts, stops) if stop > start]
        ranges = [order[a:b] for a, b in zip(starts, stops)]
        return np.sort(np.concatenate(ranges)).astype(np.int64) if ranges else np.zeros(0, np.int64), found

    def _index(self, folder: Optional[str], salt: str):
        stem = os.path.join(folder, quote(self.key, safe="")) if folder else None
        if stem and os.path.exists(stem + ".order.npy"):
            return np.load(stem + ".hash.npy", mmap_mode="r"), np.load(stem + ".order.npy", mmap_mode="r")
        from lester_inspect.ivm.files import write_array

        keys = read_key_column(self.path, self.key).fillna("").to_numpy(dtype=object)
        hashes = hash_values(keys, salt)
        order = np.argsort(hashes, kind="stable")
        if stem:  # rows an instance deletion removed keep no hash in the store (FORGOTTEN_ROWS)
            forgotten = os.path.join(folder, FORGOTTEN_ROWS)
            if os.path.exists(forgotten):
                order = order[~np.isin(order, np.load(forgotten))]
        hashes = hashes[order]
        if stem:
            os.makedirs(folder, exist_ok=True)
            write_array(stem + ".hash.npy", hashes)
            write_array(stem + ".order.npy", order)
        return hashes, order


FORGOTTEN_ROWS = "forgotten_rows.npy"


def read_key_column(path: str, key: str):
    """One column of a source file as text, by the file's format (CSV, TSV, JSON (lines), Excel, Feather, Parquet)."""
    import pandas as pd

    extension = os.path.splitext(path)[1].lower()
    readers = {".csv": lambda: pd.read_csv(path, usecols=[key], dtype=str),
               ".txt": lambda: pd.read_csv(path, usecols=[key], dtype=str, sep=None, engine="python"),
               ".tsv": lambda: pd.read_csv(path, usecols=[key], dtype=str, sep="\t"),
               ".json": lambda: _read_json(path),
               ".jsonl": lambda: pd.read_json(path, lines=True, dtype=False),
               ".xlsx": lambda: pd.read_excel(path, usecols=[key], dtype=str),
               ".xls": lambda: pd.read_excel(path, usecols=[key], dtype=str),
               ".feather": lambda: pd.read_feather(path, columns=[key]),
               ".parquet": lambda: pd.read_parquet(path, columns=[key])}
    if extension not in readers:
        raise SpecError(f"{path}: rows of a {extension or 'extension-less'} file can be named by position "
                        f"(FILE:@ROW1,ROW2), not by key; keys are read from {', '.join(sorted(readers))} files")
    try:
        frame = readers[extension]()
    except (ValueError, KeyError) as error:
        raise SpecError(f"{path}: has no column {key!r} ({error})") from None
    if key not in frame.columns:
        raise SpecError(f"{path}: has no column {key!r}; its columns: {', '.join(map(str, frame.columns))}")
    column = frame[key]
    return column.where(column.isna(), column.map(as_text))


def _read_json(path: str):
    import pandas as pd

    try:
        return pd.read_json(path, lines=True, dtype=False)
    except ValueError:
        return pd.read_json(path, dtype=False)


def as_text(value) -> str:
    """A key value as the text a user writes (``5``, not ``5.0``)."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def hash_values(values, salt: str) -> np.ndarray:
    """Keyed 64-bit hashes of text values (a wanted value matches another among a million with odds of 1 in 10^13)."""
    from pandas.util import hash_array

    return hash_array(np.asarray(values, dtype=object), hash_key=salt, categorize=False)


@dataclasses.dataclass(frozen=True)
class ColumnSpec:
    path: str
    column: str

    @classmethod
    def parse(cls, text: str) -> "ColumnSpec":
        path, separator, column = text.rpartition(":")
        if not separator or not path or not column:
            raise SpecError(f"{text!r}: expected FILE:COLUMN")
        if not os.path.isfile(path):
            raise SpecError(f"{path}: no such source file")
        return cls(path, column)
