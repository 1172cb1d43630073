"""How the user names leaked data: ``customers.csv:customer_id=2,4,6``, ``customers.csv:@2,4,6``, ``mails.csv:mail_subject``."""
from __future__ import annotations

import dataclasses
import os
from typing import Optional, Tuple

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

    def resolve(self, index_folder: Optional[str] = None) -> np.ndarray:
        """The sorted 0-based row positions in the file.

        Key values are looked up in a sorted index of the key column kept in
        ``index_folder`` (built from the file's key column on first use; the folder is
        named by the file's content fingerprint, so it cannot go stale).
        """
        if not os.path.isfile(self.path):
            raise SpecError(f"{self.path}: no such source file")
        if self.key is None:
            return np.asarray(sorted(set(self.positions)), dtype=np.int64)
        keys, order = self._index(index_folder)
        wanted = np.asarray(self.values, dtype=keys.dtype)
        starts, stops = np.searchsorted(keys, wanted, "left"), np.searchsorted(keys, wanted, "right")
        missing = [value for value, start, stop in zip(self.values, starts, stops) if stop == start]
        if missing:
            raise SpecError(f"{self.path}: no row has {self.key} = {', '.join(sorted(missing))}")
        return np.sort(np.concatenate([order[a:b] for a, b in zip(starts, stops)])).astype(np.int64)

    def _index(self, folder: Optional[str]):
        paths = (os.path.join(folder, f"{self.key}.keys.npy"), os.path.join(folder, f"{self.key}.order.npy")) \
            if folder else None
        if paths and os.path.exists(paths[1]):
            return np.load(paths[0], mmap_mode="r"), np.load(paths[1], mmap_mode="r")
        import pandas as pd

        from lester_inspect.ivm.files import write_array

        try:
            keys = pd.read_csv(self.path, usecols=[self.key], dtype=str)[self.key].fillna("").to_numpy(dtype=str)
        except ValueError as error:
            raise SpecError(f"{self.path}: has no column {self.key!r} ({error})") from None
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        if paths:
            os.makedirs(folder, exist_ok=True)
            write_array(paths[0], keys)
            write_array(paths[1], order)
        return keys, order


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
