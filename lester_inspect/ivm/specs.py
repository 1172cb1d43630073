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
                raise SpecError(f"{text!r}: row positions after '@' must be whole numbers") from None
            return cls(path, positions=positions)
        key, equals, values = rows.partition("=")
        if not equals or not key or not values:
            raise SpecError(f"{text!r}: expected FILE:KEY=V1,V2 or FILE:@ROW1,ROW2")
        return cls(path, key=key, values=tuple(v.strip() for v in values.split(",")))

    def resolve(self) -> np.ndarray:
        """The sorted 0-based row positions in the file (reading only the key column)."""
        if not os.path.isfile(self.path):
            raise SpecError(f"{self.path}: no such source file")
        if self.key is None:
            return np.asarray(sorted(set(self.positions)), dtype=np.int64)
        import pandas as pd

        try:
            keys = pd.read_csv(self.path, usecols=[self.key], dtype=str)[self.key]
        except ValueError as error:
            raise SpecError(f"{self.path}: has no column {self.key!r} ({error})") from None
        positions = np.flatnonzero(keys.isin(self.values).to_numpy())
        missing = set(self.values) - set(keys.iloc[positions])
        if missing:
            raise SpecError(f"{self.path}: no row has {self.key} = {', '.join(sorted(missing))}")
        return positions.astype(np.int64)


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
