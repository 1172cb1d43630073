"""Per-row annotations and how they move through operators, as numpy arrays.

An object's annotations are a dict from key to column, aligned with its rows:

* ``("value", column)`` -> ``ValueColumn``: the value of a (sensitive) column per row,
  as categorical codes, so it survives projections that drop the column;
* ``LINEAGE`` -> ``Lineage``: which source rows each row was made from, as factors of
  a how-provenance monomial (a join multiplies factors, an aggregation sums rows);
* ``("generic", inspection)`` -> object array of a row-wise inspection's annotations.

Below a provenance cut (an unknown row mapping, an untracked source) a column is
``UnknownProvenance`` instead: an explicit "unknown, because of these cuts" that
inspections report as such, never an empty or zero result.

Moving them is the same take / group / concatenation the operator applied to the data.
"""
from __future__ import annotations

from typing import Any, Dict, Hashable, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from lester_inspect.instrumentation.rows import Groups, Identity, Positions, ProvenanceCut

LINEAGE = ("lineage",)


class UnknownProvenance:
    """An annotation that cannot be known because the rows' link to their sources was cut.

    ``cuts`` say where (call, code location, reason). It stays what it is through
    every operator downstream; combined with known annotations it wins, since a
    row made from an unknown row is unknown.
    """

    __slots__ = ("cuts",)

    def __init__(self, cuts: Tuple[ProvenanceCut, ...]):
        self.cuts = cuts

    def take(self, positions: np.ndarray, has_missing: Optional[bool] = None) -> "UnknownProvenance":
        return self

    def merged(self, other: "UnknownProvenance") -> "UnknownProvenance":
        return UnknownProvenance(self.cuts + tuple(c for c in other.cuts if c not in self.cuts))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnknownProvenance) and self.cuts == other.cuts

    def __hash__(self) -> int:
        return hash(self.cuts)

    def __repr__(self) -> str:
        return f"unknown ({'; '.join(str(cut) for cut in self.cuts)})"


def is_unknown(column: Any) -> bool:
    return isinstance(column, UnknownProvenance)


def unknown_of(columns: Sequence[Any]) -> Optional[UnknownProvenance]:
    """The merged ``UnknownProvenance`` among ``columns``, or None if every one is known."""
    found = None
    for column in columns:
        if isinstance(column, UnknownProvenance):
            found = column if found is None else found.merged(column)
    return found


class CarriedAnnotations(dict):
    """Annotations an engine computed itself for its output (Spark's hidden columns), not moved here.

    ``carrier`` is the input node whose rows the output's rows are (None: several).
    """

    def __init__(self, *args, carrier=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.carrier = carrier


def value_key(column: Hashable) -> tuple:
    return ("value", column)


def _take(array: np.ndarray, positions: np.ndarray, missing: Any, has_missing: Optional[bool] = None) -> np.ndarray:
    if has_missing is False and len(array):
        return array[positions]
    taken = array[np.maximum(positions, 0)] if len(array) else np.full(len(positions), missing, array.dtype)
    if len(positions) and positions.min() < 0:
        taken = taken.copy() if taken.base is not None else taken
        taken[positions < 0] = missing
    return taken


class ValueColumn:
    """A column's values per row as codes into ``categories``; -1 is missing or unknown."""

    __slots__ = ("codes", "categories", "_counts")

    def __init__(self, codes: np.ndarray, categories: np.ndarray):
        self.codes = codes
        self.categories = categories
        # Found on first ``counts()``: operators that keep their rows (a map, a dropna that dropped
        # nothing) pass the same column on, and a histogram of each would count it again.
        self._counts: Optional[Dict[Any, int]] = None

    @classmethod
    def from_values(cls, values: Any) -> "ValueColumn":
        codes, categories = pd.factorize(pd.Series(values, copy=False), use_na_sentinel=True)
        return cls(codes.astype(np.int32, copy=False), np.asarray(categories, dtype=object))

    @classmethod
    def unknown(cls, length: int) -> "ValueColumn":
        return cls(np.full(length, -1, dtype=np.int32), np.empty(0, dtype=object))

    def __len__(self) -> int:
        return len(self.codes)

    def take(self, positions: np.ndarray, has_missing: Optional[bool] = None) -> "ValueColumn":
        return ValueColumn(_take(self.codes, positions, -1, has_missing), self.categories)

    def recoded(self, categories: np.ndarray) -> "ValueColumn":
        if categories is self.categories or np.array_equal(categories, self.categories):
            return ValueColumn(self.codes, categories)
        lookup = pd.Index(categories).get_indexer(self.categories).astype(np.int32)
        codes = np.where(self.codes >= 0, lookup[np.maximum(self.codes, 0)] if len(lookup) else -1, -1)
        return ValueColumn(codes.astype(np.int32), categories)

    def counts(self) -> Dict[Any, int]:
        """Rows per value, missing values under ``None``, in category order (a dict of the caller's own)."""
        if self._counts is not None:
            return dict(self._counts)
        # bincount converts its input to intp itself, more slowly than astype does; Python ints and
        # objects (tolist) are iterated faster than numpy scalars.
        counted = np.bincount((self.codes + 1).astype(np.intp, copy=False),
                              minlength=len(self.categories) + 1).tolist()
        result = {category: n for category, n in zip(self.categories.tolist(), counted[1:]) if n}
        if counted[0]:
            result[None] = counted[0]
        self._counts = result
        return dict(result)

    def values(self, positions: Optional[np.ndarray] = None) -> np.ndarray:
        codes = self.codes if positions is None else self.codes[positions]
        out = np.empty(len(codes), dtype=object)
        out[codes >= 0] = self.categories[codes[codes >= 0]]
        out[codes < 0] = None
        return out


def combine_values(parts: Sequence[ValueColumn], length: int, choose: np.ndarray) -> ValueColumn:
    """Row i takes its value from ``parts[choose[i]]`` (all parts already aligned to the output)."""
    categories = pd.unique(np.concatenate([p.categories for p in parts])) if parts else np.empty(0, object)
    categories = np.asarray(categories, dtype=object)
    codes = np.full(length, -1, dtype=np.int32)
    for index, part in enumerate(parts):
        recoded = part.recoded(categories).codes
        rows = choose == index
        codes[rows] = recoded[rows]
    return ValueColumn(codes, categories)


class Factor:
    """One variable of each row's monomial: the row of ``source`` it came from (-1: none)."""

    __slots__ = ("source", "ids")

    def __init__(self, source: int, ids: np.ndarray):
        self.source = source
        self.ids = ids

    def take(self, positions: np.ndarray, has_missing: Optional[bool] = None) -> "Factor":
        return Factor(self.source, _take(self.ids, positions, -1, has_missing))

    def head(self, count: int) -> "Factor":
        return Factor(self.source, self.ids[:count].copy())


class GroupFactor:
    """Each row stands for a group of rows of an aggregated input: a sum of their monomials."""

    __slots__ = ("groups", "members", "member_groups")

    def __init__(self, groups: np.ndarray, members: "Lineage", member_groups: np.ndarray):
        self.groups = groups            # per row: the group it stands for (-1: none)
        self.members = members          # lineage of the aggregated input's rows
        self.member_groups = member_groups  # per input row: its group

    def take(self, positions: np.ndarray, has_missing: Optional[bool] = None) -> "GroupFactor":
        return GroupFactor(_take(self.groups, positions, -1, has_missing), self.members, self.member_groups)

    def head(self, count: int) -> "GroupFactor":
        return GroupFactor(self.groups[:count].copy(), self.members, self.member_groups)


class Lineage:
    """How-provenance of every row: the product of its factors (a sum for group factors)."""

    __slots__ = ("factors", "length")

    def __init__(self, factors: Tuple, length: int):
        self.factors = factors
        self.length = length

    @classmethod
    def of_source(cls, source: int, length: int) -> "Lineage":
        return cls((Factor(source, np.arange(length, dtype=np.int64)),), length)

    def take(self, positions: np.ndarray, has_missing: Optional[bool] = None) -> "Lineage":
        return Lineage(tuple([f.take(positions, has_missing) for f in self.factors]), len(positions))

    def head(self, count: int) -> "Lineage":
        """The first ``count`` rows' lineage, in arrays of its own (not views keeping all rows alive)."""
        return Lineage(tuple([f.head(count) for f in self.factors]), min(count, self.length))

    def polynomial(self, row: int, names: Dict[int, str]) -> "Polynomial":
        """Row ``row``'s polynomial, its variables named ``(source name, source row)``."""
        monomial = []
        for factor in self.factors:
            if isinstance(factor, Factor):
                if factor.ids[row] >= 0:
                    monomial.append((names[factor.source], int(factor.ids[row])))
            elif factor.groups[row] >= 0:
                monomial.append(GroupSum(factor.members, factor.member_groups, int(factor.groups[row]), names))
        return Polynomial((tuple(monomial),)) if monomial else Polynomial(())

    def source_rows(self, through_aggregates: bool = False) -> Dict[int, np.ndarray]:
        """Per source, the sorted distinct source rows this object's rows are made of.

        With ``through_aggregates``, also the rows folded into aggregates they use (a
        group mean over all patients makes every patient contribute).
        """
        found: Dict[int, List[np.ndarray]] = {}
        for factor in self.factors:
            if isinstance(factor, Factor):
                found.setdefault(factor.source, []).append(factor.ids[factor.ids >= 0])
            elif through_aggregates:
                used = np.isin(factor.member_groups, factor.groups[factor.groups >= 0])
                inner = factor.members.take(np.flatnonzero(used)).source_rows(through_aggregates)
                for source, rows in inner.items():
                    found.setdefault(source, []).append(rows)
        return {source: np.unique(np.concatenate(parts)) for source, parts in found.items()}


def join_lineages(parts: Sequence[Lineage], length: int) -> Lineage:
    """A join's output rows are products of one row from each input."""
    return Lineage(tuple(f for part in parts for f in part.factors), length)


def aligned_product(parts: Sequence[Lineage], length: int) -> Lineage:
    """An n-ary map's row i is the product of row i of each input; a factor two inputs share counts once."""
    factors: List = []
    for part in parts:
        for factor in part.factors:
            if not any(_same_factor(factor, kept) for kept in factors):
                factors.append(factor)
    return Lineage(tuple(factors), length)


def _same_factor(one, other) -> bool:
    if one is other:
        return True
    if isinstance(one, Factor) and isinstance(other, Factor):
        return one.source == other.source and np.array_equal(one.ids, other.ids)
    return False


def union_lineages(parts: Sequence[Lineage], length: int, choose: np.ndarray) -> Lineage:
    """A row concatenation's output row i is row of ``parts[choose[i]]`` (parts already aligned)."""
    shapes = [tuple((type(f), getattr(f, "source", None)) for f in p.factors) for p in parts]
    if parts and all(shape == shapes[0] for shape in shapes) and all(isinstance(f, Factor) for f in parts[0].factors):
        factors = []
        for position, first in enumerate(parts[0].factors):
            ids = np.full(length, -1, dtype=np.int64)
            for index, part in enumerate(parts):
                rows = choose == index
                ids[rows] = part.factors[position].ids[rows]
            factors.append(Factor(first.source, ids))
        return Lineage(tuple(factors), length)
    # Differently shaped inputs: keep every factor; rows from other inputs are -1 there.
    factors = []
    for index, part in enumerate(parts):
        outside = choose != index
        for factor in part.factors:
            taken = factor.take(np.where(outside, -1, np.arange(length)))
            factors.append(taken)
    return Lineage(tuple(factors), length)


class Polynomial:
    """A sum of monomials; a monomial is a tuple of ``(source, row)`` variables and group sums."""

    __slots__ = ("terms",)

    def __init__(self, terms: Tuple):
        self.terms = terms

    def variables(self) -> set:
        """Every ``(source, row)`` the polynomial mentions: the rows the row was made from."""
        found = set()
        for monomial in self.terms:
            for variable in monomial:
                found |= variable.variables() if isinstance(variable, (Polynomial, GroupSum)) else {variable}
        return found

    def __str__(self) -> str:
        def variable(v):
            return f"({v})" if isinstance(v, GroupSum) else f"{v[0]}[{v[1]}]"

        return " + ".join(" * ".join(variable(v) for v in monomial) for monomial in self.terms) or "0"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Polynomial) and self.terms == other.terms

    def __hash__(self) -> int:
        return hash(self.terms)

    def __repr__(self) -> str:
        return f"Polynomial({self})"


class GroupSum:
    """The sum over the rows an aggregation folded into one row, expanded only on demand.

    An aggregate of a million rows stays one small object until its terms are asked for.
    """

    __slots__ = ("lineage", "member_groups", "group", "names")
    SHOWN = 5

    def __init__(self, lineage: Lineage, member_groups: np.ndarray, group: int, names: Dict[int, str]):
        self.lineage = lineage
        self.member_groups = member_groups
        self.group = group
        self.names = names

    @property
    def rows(self) -> np.ndarray:
        """The aggregated input rows (found when asked: the scan is over all input rows)."""
        return np.flatnonzero(self.member_groups == self.group)

    @property
    def terms(self) -> Tuple:
        return tuple(t for row in self.rows for t in self.lineage.polynomial(int(row), self.names).terms)

    def variables(self) -> set:
        return Polynomial(self.terms).variables()

    def __str__(self) -> str:
        rows = self.rows
        shown = [str(self.lineage.polynomial(int(row), self.names)) for row in rows[:self.SHOWN]]
        more = len(rows) - self.SHOWN
        return " + ".join(shown) + (f" + ... ({more} more)" if more > 0 else "")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GroupSum) and self.terms == other.terms

    def __hash__(self) -> int:
        return hash(self.group)


# -- propagation ----------------------------------------------------------------------------------

def aligned(annotations: Dict, mapping, length: int) -> Optional[Dict]:
    """An input's annotations rearranged to the output rows; None where the mapping is unknown.

    (The executor turns an unknown mapping into ``UnknownProvenance`` columns.)
    """
    if isinstance(mapping, Identity):
        return annotations
    if isinstance(mapping, Positions):
        return {key: _take_column(column, mapping.positions, mapping.has_missing) for key, column in annotations.items()}
    if isinstance(mapping, Groups):
        return {key: _group_column(column, mapping, key) for key, column in annotations.items()}
    return None


def _take_column(column, positions: np.ndarray, has_missing: Optional[bool] = None):
    if isinstance(column, (ValueColumn, Lineage, UnknownProvenance)):
        return column.take(positions, has_missing)
    return _take(column, positions, None, has_missing)


def _group_column(column, groups: Groups, key):
    codes = groups.codes
    if isinstance(column, UnknownProvenance):
        return column
    if isinstance(column, Lineage):
        return Lineage((GroupFactor(np.arange(groups.count, dtype=np.int64), column, codes),), groups.count)
    if groups.representatives is not None:
        return _take_column(column, groups.representatives)
    if isinstance(column, ValueColumn):
        # A group keeps a value only where all its rows share it.
        valid = codes >= 0
        frame = pd.DataFrame({"g": codes[valid], "v": column.codes[valid]})
        bounds = frame.groupby("g")["v"].agg(["min", "max"]).reindex(range(groups.count))
        same = (bounds["min"] == bounds["max"]).to_numpy()
        values = np.where(same, bounds["min"].fillna(-1).to_numpy(), -1).astype(np.int32)
        return ValueColumn(values, column.categories)
    # Row-wise inspections see one representative input row per group, as in mlinspect.
    return _take(column, groups.representative_rows(), None)
