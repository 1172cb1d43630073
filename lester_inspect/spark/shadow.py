"""Provenance computed by Spark: shadows of DataFrames with hidden id and value columns.

A *shadow* is a tracked DataFrame's query with hidden columns added at the sources
and carried through the user's own transformations: one column per factor of the
rows' how-provenance monomial (a join keeps both sides' columns), and one per
sensitive column whose values the inspections follow after it is projected away.
The user's DataFrame is the shadow with the hidden columns dropped, so the user's
rows and their ids always come from one plan.

Hidden columns are maps (``{"id": ...}``, ``{"v": ...}``, ``{"g": ...}``) because
Spark cannot order maps: ``randomSplit`` sorts each partition by every orderable
column before sampling, and hidden structs or numbers would change the split.

Row identity at a source (the choice and why): the id is ``xxhash64`` of the row's
values (with a null flag per column, so that nulls in different columns differ). It
is deterministic, so Spark still pushes filters into the scan and prunes the hidden
column wherever it is not used: the user's query plan, and so the order of its rows
in ``show()``/``collect()``, stays the plain one. (Spark's row address,
``monotonically_increasing_id()``, was tried first: it is nondeterministic for the
optimizer, which then stopped pushing filters down and chose other join sides, and
rows came out in another order.) The hash is also stable across sessions and cluster
layouts. Identical rows share an id: they are indistinguishable, and a change to one
is a change to all. A hash becomes a row position (what ``RowLineage`` shows and the
store keeps: the first row with those values) only when ids leave Spark, by one
query over the source for the hashes asked for. Rows created from a pandas frame get
their exact pandas positions (or the pandas lineage, when the frame has one) as ids.

Aggregations and duplicate elimination do not collect lists of ids: an output row's
group column holds ``xxhash64`` of its grouping key, and the aggregated input (the
group's members, with the same hash) stays a lazy DataFrame that is queried only
when a group's polynomial is rendered.
"""
from __future__ import annotations

import itertools
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

import numpy as np
import pandas as pd

from lester_inspect.inspections.annotations import LINEAGE, CarriedAnnotations, GroupSum, Polynomial, value_key

ID, VALUE, GROUP = "id", "v", "g"
PREFIX = "__lester_"
_LOCAL_BITS = 33


def F():
    from pyspark.sql import functions

    return functions


def quoted(name: str) -> str:
    return "`" + str(name).replace("`", "``") + "`"


def ref(name: str):
    return F().col(quoted(name))


class IdFactor(NamedTuple):
    """A hidden column holding the source row each row was made from."""

    column: str
    source: int


class GroupFactor(NamedTuple):
    """A hidden column holding the group (hash of the key) whose member rows each row aggregates."""

    column: str
    members: "Shadow"
    member_column: str


class Shadow:
    """A DataFrame with hidden columns: ``factors`` (lineage) and ``values`` ({sensitive column: hidden column})."""

    __slots__ = ("frame", "factors", "values", "unknown", "_counts", "_sides", "same_rows", "map_of", "_heads",
                 "rest_of")

    def __init__(self, frame, factors: Tuple = (), values: Optional[Dict[str, str]] = None,
                 unknown: Optional[str] = None):
        self.frame = frame
        self.factors = tuple(factors)
        self.values = dict(values or {})
        #: Why the lineage of these rows is not known (None: known, or not asked for).
        self.unknown = unknown
        self._counts = None
        #: For a join: the hidden factor columns of the left and of the right input.
        self._sides = None
        #: A shadow with the same rows (a map's input): while the values are the same, so are the counts.
        self.same_rows: Optional["Shadow"] = None
        #: ``(parent, build, known)``: ``frame`` is ``build(parent.frame)`` row by row, in the same order;
        #: ``known``: ``build`` is known to compute the same values each time.
        self.map_of: Optional[Tuple["Shadow", Callable, bool]] = None
        self._heads: Dict[int, Any] = {}
        #: ``(whole, others)``: this is the last part of a split of ``whole`` into these parts.
        self.rest_of: Optional[Tuple["Shadow", List["Shadow"]]] = None

    def mapped(self, parent: "Shadow", build: Callable, known: bool = False) -> "Shadow":
        """Mark this shadow as ``build(parent.frame)``, a row-wise map: same rows, same order."""
        self.same_rows, self.map_of = parent, (parent, build, known)
        return self

    def head(self, count: int):
        """The first ``count`` rows (hidden columns included) as a local relation in the driver's JVM.

        A row-wise map's first rows are the map of its input's first rows: computed on those
        few rows instead of by a query that reads the sources again (after a ``randomSplit``,
        that query sorts a whole partition).
        """
        if count not in self._heads:
            head = None
            if self.map_of is not None:
                parent, build, known = self.map_of
                try:
                    head = build(parent.head(count))
                except Exception:  # e.g. a column bound to another DataFrame: read the rows by a query
                    head = None
                # Over a local relation, only ``build``'s own expressions decide (``rand()`` would differ).
                if head is not None and not known and not deterministic(head):
                    head = None
            self._heads[count] = _local(head if head is not None else self.frame.limit(count))
        return self._heads[count]

    @property
    def hidden(self) -> List[str]:
        return [f.column for f in self.factors] + list(self.values.values())

    def user_columns(self) -> List[str]:
        hidden = set(self.hidden)
        return [c for c in self.frame.columns if c not in hidden]

    def user_frame(self):
        hidden = self.hidden
        return self.frame.drop(*hidden) if hidden else self.frame

    def derive(self, frame) -> "Shadow":
        """The same hidden columns on ``frame`` (an operation's output), without those it dropped."""
        present = set(frame.columns)
        factors = tuple(f for f in self.factors if f.column in present)
        unknown = self.unknown
        if len(factors) < len(self.factors) and unknown is None:
            unknown = "the operation dropped the hidden row ids"
        return Shadow(frame, factors, {c: h for c, h in self.values.items() if h in present}, unknown)

    def renamed(self, name) -> "Shadow":
        """Fresh names for every hidden column (the right side of a join may share the left's)."""
        mapping = {h: name() for h in self.hidden}
        if not mapping:
            return self
        frame = self.frame.withColumnsRenamed(mapping)
        factors = tuple(f._replace(column=mapping[f.column]) for f in self.factors)
        return Shadow(frame, factors, {c: mapping[h] for c, h in self.values.items()}, self.unknown)

    def value_counts(self) -> Dict[str, Dict[Any, int]]:
        """{sensitive column: {value: rows}} for all of them in one Spark aggregation (if not known)."""
        if self._counts is None:
            self.aggregate([])
        return self._counts

    def _known_counts(self) -> Optional[Dict[str, Dict[Any, int]]]:
        """The counts, where other shadows' counts give them without a Spark job."""
        if self.same_rows is not None and self.same_rows.values == self.values:
            return self.same_rows.value_counts()
        if self.rest_of is not None:
            # The parts of a split are disjoint and cover its input: the last part has what the others left.
            whole, others = self.rest_of
            counts = {c: dict(v) for c, v in whole.value_counts().items()}
            for other in others:
                for column, values in other.value_counts().items():
                    for value, rows in values.items():
                        counts[column][value] -= rows
            return {c: {v: n for v, n in values.items() if n} for c, values in counts.items()}
        return None

    def aggregate(self, totals: List) -> list:
        """The value counts (unless known) and the values of the aggregate columns ``totals`` over all
        rows, in one Spark job (grouping sets: per value, and all rows)."""
        if self._counts is None:
            self._counts = self._known_counts()
        columns = list(self.values) if self._counts is None else []
        counts = {c: {} for c in columns}
        f, found = F(), [None] * len(totals)
        if columns or totals:
            extra = [t.alias(f"t{i}") for i, t in enumerate(totals)]
            if columns:
                keys = [f"k{i}" for i in range(len(columns))]
                frame = self.frame.withColumns({k: ref(self.values[c])[VALUE] for k, c in zip(keys, columns)})
                sets = [keys, []] if totals else [keys]
                rows = frame.groupingSets(sets, *keys).agg(f.count(f.lit(1)).alias("n"), *extra,
                                                           f.grouping_id().alias("all")).collect()
            else:
                rows = [row.asDict() | {"all": 1} for row in self.frame.agg(*extra).collect()]
            for row in rows:
                if row["all"]:
                    found = [row[f"t{i}"] for i in range(len(totals))]
                    continue
                for key, column in zip(keys, columns):
                    counts[column][row[key]] = counts[column].get(row[key], 0) + row["n"]
        if self._counts is None:
            self._counts = counts
        return found


class ShadowContext:
    """What one run's shadows share: hidden column names, what to carry, source row addresses."""

    def __init__(self, lineage: bool, value_columns):
        self.lineage = lineage
        self.value_columns = tuple(value_columns)
        self._names = itertools.count()
        #: Per source node id: how its ids become row positions (absent: the ids are positions).
        self.addresses: Dict[int, HashPositions] = {}

    def name(self) -> str:
        return f"{PREFIX}{next(self._names)}"

    def source(self, frame, node_id: int, ids=None) -> Shadow:
        """The shadow of a data source: its row ids (Spark row addresses unless ``ids`` is given)."""
        columns, factors = {}, ()
        if self.lineage:
            name = self.name()
            if ids is None:
                ids = row_hash(frame)
                self.addresses[node_id] = HashPositions(frame)
            columns[name] = F().create_map(F().lit(ID), ids)
            factors = (IdFactor(name, node_id),)
        shadow = Shadow(frame.withColumns(columns) if columns else frame, factors)
        return self.refresh(shadow)

    def refresh(self, shadow: Shadow, modified=True) -> Shadow:
        """Read the sensitive columns present in the data into (new) hidden value columns.

        ``modified``: True (any column may have changed), False (none did: only columns
        not carried yet are read), or the names of the columns that may have changed.
        """
        if not self.value_columns:
            return shadow
        users = shadow.user_columns()
        updates, values, replaced = {}, dict(shadow.values), []
        for column in self.value_columns:
            changed = modified if isinstance(modified, bool) else column in modified
            if users.count(column) == 1 and (changed or column not in values):
                if column in values:
                    replaced.append(values[column])
                name = values[column] = self.name()
                updates[name] = F().create_map(F().lit(VALUE), ref(column))
        if not updates:
            return shadow

        def read(frame):
            frame = frame.withColumns(updates)
            return frame.drop(*replaced) if replaced else frame

        refreshed = Shadow(read(shadow.frame), shadow.factors, values, shadow.unknown)
        refreshed._sides, refreshed.same_rows = shadow._sides, shadow.same_rows
        if shadow.map_of is not None:
            parent, build, known = shadow.map_of
            refreshed.map_of = (parent, lambda frame: read(build(frame)), known)
        return refreshed

    def positions(self, source: int, ids: np.ndarray) -> np.ndarray:
        address = self.addresses.get(source)
        return address.positions(ids) if address is not None else np.asarray(ids, dtype=np.int64)

    def position_column(self, shadow: Shadow, factor: IdFactor, name: str) -> Shadow:
        """``shadow`` with column ``name``: each row's position in ``factor``'s source (null where it has none)."""
        ids = ref(factor.column)[ID]
        address = self.addresses.get(factor.source)
        if address is None:  # the ids are positions
            return Shadow(shadow.frame.withColumn(name, ids.cast("long")), shadow.factors, shadow.values)
        key = self.name()
        table = address.table().withColumnRenamed("h", key).withColumnRenamed("row", name)
        joined = shadow.frame.withColumn(key, ids).join(table, key, "left").drop(key)
        return Shadow(joined, shadow.factors, shadow.values)

    def all_positions(self, source: int, ids: np.ndarray) -> np.ndarray:
        address = self.addresses.get(source)
        return address.all_positions(ids) if address is not None else np.unique(np.asarray(ids, dtype=np.int64))

    def annotations(self, shadow: Optional[Shadow], carrier=None) -> CarriedAnnotations:
        annotations = CarriedAnnotations(carrier=carrier)
        if shadow is None:
            return annotations
        if self.lineage and shadow.unknown is None and shadow.factors:
            annotations[LINEAGE] = SparkLineage(shadow, self)
        for column in shadow.values:
            annotations[value_key(column)] = SparkValueColumn(shadow, column)
        return annotations


def deterministic(frame) -> bool:
    """Whether the query computes the same values each time (no ``rand()``): only then may it be replayed."""
    try:
        return bool(frame._jdf.queryExecution().analyzed().deterministic())
    except Exception:  # not a classic (JVM) DataFrame
        return False


def _local(frame):
    """``frame``'s rows (a small query's) collected in the driver's JVM as a new DataFrame: exact values,
    no round trip through Python; queries over it run in the driver."""
    from pyspark.sql.classic.dataframe import DataFrame

    session = frame.sparkSession
    rows = frame._jdf.collectAsList()  # executeTake: reads only as many partitions as it needs
    return DataFrame(session._jsparkSession.createDataFrame(rows, frame._jdf.schema()), session)


def row_hash(frame):
    """The id of each row of a source: a hash of its values and of which of them are null."""
    f = F()
    columns = [ref(c) for c in frame.columns]
    return f.xxhash64(*columns, *[c.isNull() for c in columns])


class HashPositions:
    """Turns a source's row hashes into row positions (the first row with those values), by asking Spark."""

    def __init__(self, frame):
        self.frame = frame
        self._offsets = None
        self._known: Dict[int, int] = {}

    def _partition_offsets(self) -> np.ndarray:
        if self._offsets is None:
            f = F()
            counts = self.frame.select(f.spark_partition_id().alias("p")).groupBy("p").count().collect()
            size = max((row["p"] for row in counts), default=-1) + 2
            per_partition = np.zeros(size, dtype=np.int64)
            for row in counts:
                per_partition[row["p"] + 1] = row["count"]
            self._offsets = np.cumsum(per_partition)
        return self._offsets

    def positions(self, hashes: np.ndarray) -> np.ndarray:
        hashes = np.asarray(hashes, dtype=np.int64)
        missing = np.setdiff1d(np.unique(hashes), np.fromiter(self._known, dtype=np.int64, count=len(self._known)))
        if len(missing):
            self._known.update(self._first_addresses(missing))
        return np.array([self._known.get(int(h), -1) for h in hashes], dtype=np.int64)

    def _addressed(self):
        # The row address is read directly over the source's scan, where it is stable.
        return self.frame.select(row_hash(self.frame).alias("h"), F().monotonically_increasing_id().alias("a"))

    def _first_addresses(self, hashes: np.ndarray) -> Dict[int, int]:
        """{hash: position of the first row with it} for ``hashes`` (absent: no such row).

        The rows shown first are mostly near the start of their sources: the rows with one of
        the (few) hashes are read in scan order with a limit of as many rows as hashes, which reads
        only as far as needed. A duplicate among them leaves a hash unseen: it is searched for
        again (each round finds at least one more hash). Fewer rows than asked means the whole
        source was read.
        """
        first: Dict[int, int] = {}
        rest = np.asarray(hashes, dtype=np.int64)
        while len(rest):
            rows = self._addressed().where(F().col("h").isin(rest.tolist())).limit(len(rest)).collect()
            for row in rows:
                first.setdefault(row["h"], row["a"])
            if len(rows) < len(rest):
                break
            rest = np.setdiff1d(rest, np.fromiter(first, dtype=np.int64, count=len(first)))
        addresses = np.fromiter(first.values(), dtype=np.int64, count=len(first))
        return dict(zip(first, self._rows(addresses).tolist()))

    def _rows(self, addresses: np.ndarray) -> np.ndarray:
        """Row positions of Spark row addresses (partition index, row in partition)."""
        partitions, local = addresses >> _LOCAL_BITS, addresses & ((1 << _LOCAL_BITS) - 1)
        if not partitions.any():  # all in the first partition: no need to count the others' rows
            return local
        return self._partition_offsets()[partitions] + local

    def all_positions(self, hashes: np.ndarray) -> np.ndarray:
        """Every row position whose values hash to one of ``hashes`` (identical rows are one id)."""
        wanted = self.frame.sparkSession.createDataFrame(pd.DataFrame({"h": np.asarray(hashes, dtype=np.int64)}))
        addresses = self._addressed().join(wanted, "h", "left_semi").select("a").toPandas()["a"]
        return np.sort(self._rows(addresses.to_numpy(dtype=np.int64)))

    def count(self) -> int:
        return int(self._partition_offsets()[-1])

    def table(self):
        """A lazy DataFrame ``(h, row)``: each hash and its row position, computed in Spark (for joins)."""
        f = F()
        offsets = f.array(*[f.lit(int(o)) for o in self._partition_offsets()])
        address = f.col("a")
        first = (self.frame.select(row_hash(self.frame).alias("h"), f.monotonically_increasing_id().alias("a"))
                 .groupBy("h").agg(f.min("a").alias("a")))
        row = (f.element_at(offsets, (f.shiftright(address, _LOCAL_BITS) + 1).cast("int"))
               + address.bitwiseAND((1 << _LOCAL_BITS) - 1))
        return first.select("h", row.alias("row"))


# -- what inspections see ---------------------------------------------------------------------------

class SparkValueColumn:
    """A sensitive column's values per row, kept in Spark; ``counts()`` is a Spark aggregation."""

    def __init__(self, shadow: Shadow, column: str):
        self.shadow = shadow
        self.column = column

    def counts(self) -> Dict[Any, int]:
        return dict(self.shadow.value_counts()[self.column])


class SparkLineage:
    """Row lineage kept as hidden columns in Spark; rows are read only for what an inspection shows."""

    def __init__(self, shadow: Shadow, context: ShadowContext):
        self.shadow = shadow
        self.context = context

    def _flat(self, frame):
        """Hidden columns as plain values (maps cannot be converted to pandas)."""
        flat = {f.column: ref(f.column)[GROUP if isinstance(f, GroupFactor) else ID] for f in self.shadow.factors}
        flat.update({h: ref(h)[VALUE] for h in self.shadow.values.values()})
        return frame.withColumns(flat)

    def first_rows(self, count: Optional[int], names: Dict[int, str]):
        """The first ``count`` rows (all for None) and their polynomials, read in one Spark job."""
        rows = self._flat(self.shadow.frame if count is None else self.shadow.head(count)).toPandas()
        polynomials = self._polynomials(rows, names)
        return rows.drop(columns=self.shadow.hidden).reset_index(drop=True), polynomials

    def _polynomials(self, rows: pd.DataFrame, names: Dict[int, str]) -> List[Polynomial]:
        columns = []
        for factor in self.shadow.factors:
            raw = rows[factor.column]
            present = raw.notna().to_numpy()
            values = np.zeros(len(raw), dtype=np.int64)
            values[present] = raw[present].astype(np.int64).to_numpy()
            if isinstance(factor, IdFactor):
                values[present] = self.context.positions(factor.source, values[present])
            columns.append((factor, present, values))
        polynomials = []
        for row in range(len(rows)):
            monomial = []
            for factor, present, values in columns:
                if not present[row]:
                    continue
                if isinstance(factor, IdFactor):
                    monomial.append((names[factor.source], int(values[row])))
                else:
                    monomial.append(SparkGroupSum(factor, int(values[row]), names, self.context))
            polynomials.append(Polynomial((tuple(monomial),)) if monomial else Polynomial(()))
        return polynomials

    def source_rows(self, through_aggregates: bool = False) -> Dict[int, np.ndarray]:
        """Per source, the sorted distinct source rows (positions) these rows are made of.

        The ids of each source are made distinct by Spark; only the distinct ids reach the driver.
        """
        found: Dict[int, List[np.ndarray]] = {}
        for factor in self.shadow.factors:
            if isinstance(factor, IdFactor):
                ids = (self.shadow.frame.select(ref(factor.column)[ID].alias("i")).where("i IS NOT NULL")
                       .distinct().toPandas()["i"].to_numpy(dtype=np.int64))
                found.setdefault(factor.source, []).append(self.context.all_positions(factor.source, ids))
            elif through_aggregates:
                groups = self.shadow.frame.select(ref(factor.column)[GROUP].alias("__g")).distinct()
                members = factor.members.frame.join(groups, ref(factor.member_column)[GROUP] == F().col("__g"),
                                                    "left_semi")
                inner = SparkLineage(factor.members.derive(members), self.context).source_rows(True)
                for source, rows in inner.items():
                    found.setdefault(source, []).append(rows)
        return {source: np.unique(np.concatenate(parts)) for source, parts in found.items()}


class SparkGroupSum(GroupSum):
    """The sum over the rows an aggregation folded into one row, read from Spark only when rendered."""

    def __init__(self, factor: GroupFactor, group: int, names: Dict[int, str], context: ShadowContext):
        self.factor = factor
        self.group = group
        self.names = names
        self.context = context

    def _members(self) -> Shadow:
        members = self.factor.members
        return members.derive(members.frame.where(ref(self.factor.member_column)[GROUP] == self.group))

    def _lineage(self, count: Optional[int]) -> List[Polynomial]:
        return SparkLineage(self._members(), self.context).first_rows(count, self.names)[1]

    @property
    def terms(self) -> Tuple:
        return tuple(t for p in self._lineage(None) for t in p.terms)

    def variables(self) -> set:
        return Polynomial(self.terms).variables()

    def __str__(self) -> str:
        shown = self._lineage(self.SHOWN + 1)
        text = " + ".join(str(p) for p in shown[:self.SHOWN])
        return text + (" + ..." if len(shown) > self.SHOWN else "")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SparkGroupSum) and (self.factor, self.group) == (other.factor, other.group)

    def __hash__(self) -> int:
        return hash(self.group)

    def __repr__(self) -> str:
        return f"SparkGroupSum(group {self.group})"
