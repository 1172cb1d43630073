"""How the rows of an operator's output relate to the rows of one of its inputs.

Mappings are what annotation propagation needs (Table 2 of the mlinspect paper):
maps keep rows in place, resamplings pick input positions, aggregations fold
groups of rows. Computing one can cost a pass over the data, so handlers hand
them over as thunks and nothing is computed unless an inspection asks.
"""
from __future__ import annotations

import dataclasses
import weakref
from typing import Callable, Optional, Union

import numpy as np

from lester_inspect.instrumentation.dag import CodeLocation, FunctionInfo


class Identity:
    """Output row i is input row i (maps, transformers, label/feature nodes)."""

    def __repr__(self) -> str:
        return "Identity()"


class Positions:
    """Output row i is input row ``positions[i]``; -1 where no input row matches (outer joins)."""

    __slots__ = ("positions", "_has_missing")

    def __init__(self, positions: np.ndarray, has_missing: Optional[bool] = None):
        self.positions = np.asarray(positions, dtype=np.int64)
        # Given by a handler that knows (a mask's row numbers never miss), else found when asked.
        self._has_missing = has_missing

    @property
    def has_missing(self) -> bool:
        """Whether some output row has no input row (-1); found once, asked for every annotation column."""
        if self._has_missing is None:
            self._has_missing = bool(len(self.positions)) and bool(self.positions.min() < 0)
        return self._has_missing

    def __repr__(self) -> str:
        return f"Positions({self.positions!r})"


class Groups:
    """Output row g aggregates the input rows whose ``codes`` equal g; -1 rows belong to no group.

    ``representatives`` (duplicate elimination) are the input rows whose values the
    output rows keep; without them (an aggregation) a value survives only where the
    whole group shares it.
    """

    __slots__ = ("codes", "count", "representatives")

    def __init__(self, codes: np.ndarray, count: int, representatives: Optional[np.ndarray] = None):
        self.codes = np.asarray(codes, dtype=np.int64)
        self.count = int(count)
        self.representatives = representatives

    def representative_rows(self) -> np.ndarray:
        """One input row per output row: the kept row, or else the group's first row (-1: empty group)."""
        if self.representatives is not None:
            return np.asarray(self.representatives, dtype=np.int64)
        first = np.full(self.count, len(self.codes), dtype=np.int64)
        members = self.codes >= 0
        np.minimum.at(first, self.codes[members], np.flatnonzero(members))
        return np.where(first == len(self.codes), -1, first)

    def __repr__(self) -> str:
        return f"Groups({self.count} groups)"


class Unknown:
    """The relation could not be determined; annotations downstream are unknown, and say so."""

    def __init__(self, reason: str):
        self.reason = reason

    def __repr__(self) -> str:
        return f"Unknown({self.reason!r})"


class NotComputed:
    """A mapping the operator's ``prepare`` step gives a run that tracks rows (hidden row ids through a
    join), which this run, tracking none, skipped: it exists, so it is no provenance cut."""

    def __repr__(self) -> str:
        return "NotComputed()"


NOT_COMPUTED = NotComputed()
RowMapping = Union[Identity, Positions, Groups, Unknown, NotComputed, "Carried"]


# (a weak reference to the Index last checked, its answer): replaced whole, so read consistently.
_last_checked: Optional[tuple] = None


def increasing_labels(index) -> bool:
    """Whether a pandas Index holds strictly increasing integers (so unique), as selections leave
    a default index. The last Index asked is remembered: the ``prepare`` step of a sort or a
    dropna asks it of the input, and its row mapping asks again (Index objects are immutable).
    """
    global _last_checked
    last = _last_checked
    if last is not None and last[0]() is index:
        return last[1]
    labels = index.to_numpy()
    answer = labels.dtype.kind in "iu" and (len(labels) < 2 or bool((labels[1:] > labels[:-1]).all()))
    try:
        _last_checked = (weakref.ref(index), answer)
    except TypeError:  # not weakly referenceable: not remembered
        pass
    return answer


def positions_of_labels(source_index, labels, subset: bool = False) -> RowMapping:
    """Where each of ``labels`` is in ``source_index`` (a pandas Index), as ``Positions``; -1 where absent.

    Integer labels (the default index and what selections leave of it) are looked up in
    an array indexed by label: a few microseconds, where a hash lookup costs ~100 per
    call (a loop of small pandas calls makes thousands). ``subset``: every label is one
    of the source's (the result of an operation that only picks or repeats rows), so
    unique increasing source labels need no further check.
    """
    if subset and getattr(source_index, "step", None) == 1 and labels.dtype.kind in "iu":
        return Positions(labels.to_numpy() - source_index.start, has_missing=False)  # a default index
    source, wanted = source_index.to_numpy(), labels.to_numpy()
    if source.dtype.kind in "iu" and wanted.dtype.kind in "iu" and len(source):
        increasing = increasing_labels(source_index)
        low, high = (int(source[0]), int(source[-1])) if increasing else (int(source.min()), int(source.max()))
        # Sparse labels would make the lookup array large; it is left uninitialised (cheap) where every
        # label is known to be there, so a small selection of a large frame still takes this path.
        if low >= 0 and high <= (64 * len(source) + 65536 if subset and increasing else 4 * len(source) + 1024):
            lookup = np.full(high + 1, -1, dtype=np.int64) if not (subset and increasing) else np.empty(
                high + 1, dtype=np.int64)
            lookup[source] = np.arange(len(source))
            if subset and increasing:
                return Positions(lookup[wanted], has_missing=False)
            if not increasing and np.count_nonzero(lookup >= 0) != len(source):
                return Unknown("the input's row index has duplicate labels")
            if len(wanted) and (wanted.min() < 0 or wanted.max() > high):
                inside = (wanted >= 0) & (wanted <= high)
                return Positions(np.where(inside, lookup[np.clip(wanted, 0, high)], -1))
            return Positions(lookup[wanted])
    if not source_index.is_unique:
        return Unknown("the input's row index has duplicate labels")
    return Positions(source_index.get_indexer(labels))


@dataclasses.dataclass(frozen=True)
class ProvenanceCut:
    """Where row provenance stops: node ``node_id``'s rows are not linked to (some of) its input rows.

    Recorded on the DAG as the node attribute ``provenance_cut`` for an operator with
    an input whose mapping is ``Unknown`` and for an untracked data source (data made
    by code the runtime does not follow). Everything downstream inherits it.
    """

    reason: str                       # plain words, naming the call: "DataFrame.sort_values: ..."
    function: FunctionInfo            # the call that cut it
    location: Optional[CodeLocation]  # where the user called it
    node_id: int                      # the DAG node whose rows are not mapped to their input

    def __str__(self) -> str:
        where = str(self.location) if self.location is not None else "unknown location"
        return f"{where}: {self.reason}"


class Carried:
    """Known to the engine, which moved the annotations itself (Spark's hidden id columns), not as positions."""

    def __repr__(self) -> str:
        return "Carried()"


IDENTITY = Identity()
CARRIED = Carried()


def never_unknown(thunk: Callable[[], RowMapping]) -> Callable[[], RowMapping]:
    """Mark a mapping thunk that never computes ``Unknown`` (``Input.find_cut`` need not call it)."""
    thunk.may_be_unknown = _no
    return thunk


def _no() -> bool:
    return False


def segment(offset: int, length: int, total: int) -> Callable[[], Positions]:
    """A thunk for one input of a row concatenation: it owns output rows ``offset .. offset+length``."""

    @never_unknown
    def positions():
        mapped = np.full(total, -1, dtype=np.int64)
        mapped[offset:offset + length] = np.arange(length)
        return Positions(mapped)

    return positions


class Input:
    """One input of an operator: the node that produced it, the object itself, and how rows relate.

    ``rows`` is None for an input that carries no rows into the output (a fitted
    model into ``predict``, a mask into a selection); otherwise a mapping or a
    thunk returning one.
    """

    __slots__ = ("node", "data", "_rows", "_on_unknown")

    def __init__(self, node, data=None, rows: Union[RowMapping, Callable[[], RowMapping], None] = IDENTITY):
        self.node = node
        self.data = data
        self._rows = rows
        self._on_unknown: Optional[Callable[[Unknown], None]] = None

    def on_unknown(self, callback: Callable[[Unknown], None]) -> None:
        """Call ``callback(mapping)`` when the mapping is, or once computed turns out to be, Unknown."""
        if isinstance(self._rows, Unknown):
            callback(self._rows)
        elif callable(self._rows):
            self._on_unknown = callback

    @property
    def carries_rows(self) -> bool:
        return self._rows is not None

    def rows(self) -> Optional[RowMapping]:
        """The mapping, computed on first use."""
        if callable(self._rows):
            try:
                self._rows = self._rows()
            except Exception as error:  # a mapping we cannot compute must not break the run
                self._rows = Unknown(f"computing the row mapping failed: {type(error).__name__}: {error}")
            if isinstance(self._rows, Unknown) and self._on_unknown is not None:
                self._on_unknown(self._rows)
            self._on_unknown = None
        return self._rows

    def find_cut(self) -> None:
        """Compute the mapping only if it may be Unknown (a thunk's ``may_be_unknown()`` may say it is not):
        a run that tracks no rows wants its cuts, not its mappings."""
        if callable(self._rows):
            may_be_unknown = getattr(self._rows, "may_be_unknown", None)
            if may_be_unknown is None or may_be_unknown():
                self.rows()

    def __repr__(self) -> str:
        return f"Input({self.node}, rows={self._rows!r})"
