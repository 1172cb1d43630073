"""Spark DataFrame operators: which call becomes which DAG node, and how its shadow is computed.

Every supported method is one entry of ``_frame_operators`` (and the reader,
session and GroupedData tables): an ``Operator`` with a ``record`` step (the DAG
node) and, where rows are tracked, a ``shadow`` step that runs the user's call on
the inputs' shadows (``shadow.py``) and hands the user the result without the
hidden columns. If the shadow step fails, the call is made as the user wrote it and
the output's rows are unknown, and said so.

pyspark is patched only once the pipeline imports it (``pyspark`` and ``pyspark.ml``
in ``backends.BACKENDS``), so pipelines without Spark never import it. The backend never
creates a SparkSession: every query runs on the session of the user's DataFrames.
"""
from __future__ import annotations

import functools
import os
from typing import Any, Callable, Dict, List, Optional

import numpy as np
import pandas as pd

from lester_inspect.backends.formatting import short_repr
from lester_inspect.inspections.annotations import LINEAGE, CarriedAnnotations, Factor, Lineage, ValueColumn
from lester_inspect.instrumentation.dag import OperatorType
from lester_inspect.instrumentation.rows import CARRIED, Input, Unknown
from lester_inspect.instrumentation.run import UNKNOWN_FUNCTION, InstrumentedRun, OperatorCall, function_info
from lester_inspect.instrumentation.tracking import ObjectTable, Tracked
from lester_inspect.spark.expressions import describe
from lester_inspect.spark.shadow import (GROUP, ID, VALUE, F, GroupFactor, IdFactor, Shadow, ShadowContext,
                                         deterministic, quoted, ref)

T = OperatorType


class Operator:
    """``record(backend, call, result)`` adds the node(s); ``shadow(backend, original, args, kwargs)``
    returns ``(user result, [(user DataFrame, Shadow), ...])``."""

    def __init__(self, record: Callable, shadow: Optional[Callable] = None):
        self.record = record
        self.shadow = shadow


def is_frame(obj: Any) -> bool:
    from pyspark.sql import DataFrame

    return isinstance(obj, DataFrame)


class SparkBackend:
    def __init__(self, run: InstrumentedRun):
        self.run = run
        self.shadows = ObjectTable()   # user DataFrame -> Shadow
        self.grouped = ObjectTable()   # user GroupedData -> (Shadow, grouping arguments)
        self._context: Optional[ShadowContext] = None
        self._patches = None
        self.failure: Optional[str] = None  # why the last shadow step failed
        self.pandas_rows_unknown: Optional[str] = None  # why the last toPandas has no row lineage

    @property
    def context(self) -> ShadowContext:
        if self._context is None:
            keys = self.run.annotation_keys
            self._context = ShadowContext(LINEAGE in keys, [k[1] for k in keys if k[0] == "value"])
        return self._context

    # -- installation --------------------------------------------------------------------------------

    def install(self, patches) -> None:
        """Patch pyspark.sql; the run calls this once the pipeline imports pyspark (``BACKENDS``)."""
        self._patches = patches
        self._install_sql()

    def _install_sql(self) -> None:
        from pyspark.sql.classic.dataframe import DataFrame
        from pyspark.sql.group import GroupedData
        from pyspark.sql.readwriter import DataFrameReader
        from pyspark.sql.session import SparkSession

        for name in ("csv", "parquet", "json", "orc", "text", "table", "load"):
            self.patch(DataFrameReader, name, Operator(_record_read, _shadow_source))
        self.patch(SparkSession, "createDataFrame", Operator(_record_create, _shadow_create))
        self.patch(SparkSession, "table", Operator(_record_read, _shadow_source))
        for name, operator in _frame_operators().items():
            self.patch(DataFrame, name, operator)
        for name in ("agg", "count", "mean", "avg", "sum", "max", "min"):
            self.patch(GroupedData, name, Operator(_record_aggregate, _shadow_grouped_aggregate))

    def patch(self, owner: type, name: str, operator: Operator) -> None:
        original = vars(owner)[name]
        self._patches.apply(owner, name, self.wrap(original, operator))

    def wrap(self, original: Callable, operator: Operator) -> Callable:
        """``InstrumentedRun.wrap``, with the user's call made on the shadows when rows are tracked."""
        invoke = functools.partial(self.invoke, operator, original, function_info(original))
        return self.run.wrap(original, functools.partial(_recording, self, operator.record), invoke=invoke)

    def invoke(self, operator: Operator, original: Callable, function, *args, **kwargs):
        self.failure = None
        if not self.run.tracks_rows or operator.shadow is None:
            return original(*args, **kwargs)
        try:
            result, shadows = operator.shadow(self, original, args, kwargs)
        except Exception as error:
            result = original(*args, **kwargs)  # the user's own mistakes raise here, exactly as without us
            self.failure = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            self.run.report_internal_error(None, function, error)
            return result
        for user, shadow in shadows:
            self.shadows.set(user, shadow)
        return result

    # -- inputs, shadows and nodes -------------------------------------------------------------------

    def shadow_of(self, frame, location=None) -> Optional[Shadow]:
        """The shadow of a user DataFrame; an untracked one becomes a data source first."""
        shadow = self.shadows.get(frame)
        if shadow is None and self.run.tracked(frame) is None:
            self.node_of(frame, location)
            shadow = self.shadows.get(frame)
        return shadow

    def node_of(self, frame, location):
        tracked = self.run.tracked(frame)
        if tracked is not None and tracked.node is not None:
            return tracked.node
        if not is_frame(frame):
            return self.run.input_node(frame, location)
        # A DataFrame made by something we do not patch (spark.sql, spark.range, an RDD): a new source.
        if self.run.tracks_rows:
            self.shadows.set(frame, self.context.source(frame, self.next_node_id()))
        return self._add(T.DATA_SOURCE, UNKNOWN_FUNCTION, location,
                         "Untracked DataFrame (made by an operation lester-inspect does not patch)", frame, [])

    def next_node_id(self) -> int:
        # Hidden ids of a source name its node, which exists only once its annotations are known.
        return self.run._node_count

    def mapping(self, output) -> Any:
        if not self.run.tracks_rows:
            return CARRIED
        shadow = self.shadows.get(output) if output is not None else None
        if shadow is None:
            return Unknown(f"Spark: hidden row ids were not carried ({self.failure or 'untracked output'})")
        if shadow.unknown is not None and self.context.lineage:
            return Unknown(f"Spark: {shadow.unknown}")
        return CARRIED

    def node(self, call: OperatorCall, operator_type: OperatorType, description: str, output, inputs: List,
             carrier=None, **attributes):
        """A node for ``output`` made from the DataFrames ``inputs`` (their rows carried into the output)."""
        mapping = self.mapping(output if output is not None else (inputs[0] if inputs else None))
        items = [Input(self.node_of(data, call.location), data, mapping) for data in inputs]
        if carrier is None and len(items) == 1:
            carrier = items[0].node
        return self._add(operator_type, call.function, call.location, description, output, items, carrier,
                         **attributes)

    def _add(self, operator_type, function, location, description, output, items, carrier=None,
             columns=None, **attributes):
        if self.run.tracks_rows and output is not None:
            annotations = (self.context.annotations(self.shadows.get(output), carrier) if is_frame(output)
                           else getattr(self.run.tracked(output), "annotations", None))
            self.run.objects.set(output, Tracked(annotations=annotations))
        if columns is None:
            columns = list(output.columns) if output is not None and hasattr(output, "columns") else []
        return self.run.add_node(operator_type, function, location, description, columns, items, output,
                                 **attributes)


def _recording(backend: SparkBackend, record: Callable, call: OperatorCall, result) -> None:
    record(backend, call, result)


# -- shadow steps ---------------------------------------------------------------------------------------

def _same_call(changes: Optional[Callable] = None, keeps_rows: bool = False, row_wise: bool = False):
    """The user's call made on the receiver's shadow; hidden columns pass through untouched.

    ``changes(args, kwargs)`` names the columns the call may change (their values are
    read again). ``keeps_rows``: the output has the input's rows (a map, a sort), so
    while the sensitive values are the same their counts are too, and need no Spark job.
    ``row_wise``: a map that also keeps the rows' order (not a sort or a repartition).
    """

    def shadow_step(backend: SparkBackend, original, args, kwargs):
        shadow = backend.shadow_of(args[0])

        def build(frame):
            return original(frame, *args[1:], **kwargs)

        out = shadow.derive(build(shadow.frame))
        if row_wise:
            out.mapped(shadow, build)
        elif keeps_rows:
            out.same_rows = shadow
        return _finish(backend, out, set(changes(args, kwargs)) if changes is not None else False)

    return shadow_step


def _finish(backend: SparkBackend, shadow: Shadow, modified=True):
    shadow = backend.context.refresh(shadow, modified)
    user = shadow.user_frame()
    return user, [(user, shadow)]


def _shadow_source(backend: SparkBackend, original, args, kwargs):
    frame = original(*args, **kwargs)
    return _finish(backend, backend.context.source(frame, backend.next_node_id()), False)


def _shadow_create(backend: SparkBackend, original, args, kwargs):
    session, data = args[0], (args[1] if len(args) > 1 else kwargs.get("data"))
    schema = args[2] if len(args) > 2 else kwargs.get("schema")
    context = backend.context
    if not isinstance(data, pd.DataFrame) or not context.lineage or not (schema is None or _is_struct(schema)):
        return _shadow_source(backend, original, args, kwargs)
    # Rows from pandas carry their pandas lineage (or their positions) as ids, exactly.
    node_id = backend.next_node_id()
    known = getattr(backend.run.tracked(data), "annotations", None) or {}
    lineage = known.get(LINEAGE)
    if isinstance(lineage, Lineage) and lineage.factors and all(isinstance(f, Factor) for f in lineage.factors):
        parts = [(f.source, f.ids) for f in lineage.factors]
    else:
        parts = [(node_id, np.arange(len(data), dtype=np.int64))]
    names = [context.name() for _ in parts]
    extended = data.assign(**{name: pd.array(np.where(ids >= 0, ids, 0), dtype="Int64").where(ids >= 0, pd.NA)
                              if (ids < 0).any() else ids for name, (_, ids) in zip(names, parts)})
    if schema is not None:
        from pyspark.sql.types import LongType, StructField, StructType

        schema = StructType(list(schema.fields) + [StructField(name, LongType(), True) for name in names])
    rest = {k: v for k, v in kwargs.items() if k not in ("data", "schema")}
    frame = original(session, extended, schema, *args[3:], **rest)
    f = F()
    frame = frame.withColumns({name: f.create_map(f.lit(ID), ref(name)) for name in names})
    shadow = Shadow(frame, tuple(IdFactor(name, source) for name, (source, _) in zip(names, parts)))
    return _finish(backend, shadow)


def _is_struct(schema) -> bool:
    from pyspark.sql.types import StructType

    return isinstance(schema, StructType)


def _shadow_select(backend: SparkBackend, original, args, kwargs):
    """``select``/``selectExpr`` keep only what they name: the hidden columns are named too."""
    shadow = backend.shadow_of(args[0])
    frame = original(shadow.frame, *args[1:], **kwargs)
    missing = [h for h in shadow.hidden if h not in frame.columns]
    if missing:
        extra = [quoted(h) for h in missing] if original.__name__ == "selectExpr" else [ref(h) for h in missing]
        columns = list(args[1:])
        if len(columns) == 1 and isinstance(columns[0], list):
            columns = columns[0]
        frame = original(shadow.frame, *columns, *extra, **kwargs)
    return _finish(backend, shadow.derive(frame))


def _shadow_subset(keyword: str, position: int):
    """``dropna``/``fillna``: without a subset they would read the hidden columns too."""

    def shadow_step(backend: SparkBackend, original, args, kwargs):
        shadow = backend.shadow_of(args[0])
        args, kwargs = list(args), dict(kwargs)
        given = kwargs.get(keyword, args[position] if position < len(args) else None)
        value = args[1] if len(args) > 1 else kwargs.get("value")
        if given is None and not isinstance(value, dict):
            if position < len(args):
                args[position] = shadow.user_columns()
            else:
                kwargs[keyword] = shadow.user_columns()
        frame = original(shadow.frame, *args[1:], **kwargs)
        return _finish(backend, shadow.derive(frame), original.__name__ == "fillna")

    return shadow_step


def _shadow_deduplicate(backend: SparkBackend, original, args, kwargs):
    """A kept row stands for all its duplicates: its lineage is their sum (a group of the subset's values)."""
    shadow = backend.shadow_of(args[0])
    subset = args[1] if len(args) > 1 else kwargs.get("subset")
    keys = list(subset) if subset else shadow.user_columns()
    frame = shadow.frame.dropDuplicates(keys)
    return _finish(backend, _grouped(backend, shadow, frame, [ref(k) for k in keys],
                                     [ref(k) for k in keys]), False)


def _grouped(backend: SparkBackend, members: Shadow, frame, member_keys: List, output_keys: List) -> Shadow:
    """``frame`` (an aggregation of ``members``) with a group column: the hash of each row's key."""
    f, context = F(), backend.context
    if not context.lineage or members.unknown is not None or not members.factors:
        return Shadow(frame, (), {c: h for c, h in members.values.items() if h in frame.columns},
                      members.unknown or ("the aggregated rows had no row ids" if context.lineage else None))
    group, member = context.name(), context.name()
    key = (lambda keys: f.xxhash64(*keys)) if member_keys else (lambda keys: f.lit(0).cast("long"))
    members = Shadow(members.frame.withColumn(member, f.create_map(f.lit(GROUP), key(member_keys))),
                     members.factors, members.values)
    frame = frame.withColumn(group, f.create_map(f.lit(GROUP), key(output_keys)))
    values = {c: h for c, h in members.values.items() if h in frame.columns}
    return Shadow(frame, (GroupFactor(group, members, member),), values)


def _shadow_group_by(backend: SparkBackend, original, args, kwargs):
    """``groupBy`` makes no node: the shadow remembers its receiver and keys for the aggregation."""
    grouped = original(*args, **kwargs)
    shadow = backend.shadow_of(args[0])
    if shadow is not None:
        backend.grouped.set(grouped, (shadow, args[1:]))
    return grouped, []


def _keys(arguments) -> List:
    return [ref(k) if isinstance(k, str) else k for k in _flat(arguments)]


def _shadow_grouped_aggregate(backend: SparkBackend, original, args, kwargs):
    entry = backend.grouped.get(args[0])
    if entry is None or entry[0] is None:
        raise LookupError("the group-by was made by an operation lester-inspect does not patch")
    shadow, arguments = entry
    grouped = shadow.frame.groupBy(*arguments)
    frame = original(grouped, *args[1:], **kwargs)
    keys = _keys(arguments)
    # The first columns of an aggregation are its grouping columns, in order.
    output_keys = [frame[i] for i in range(len(keys))] if keys else []
    return _finish(backend, _grouped(backend, shadow, frame, keys, output_keys))


def _shadow_frame_aggregate(backend: SparkBackend, original, args, kwargs):
    shadow = backend.shadow_of(args[0])
    frame = original(shadow.frame, *args[1:], **kwargs)
    return _finish(backend, _grouped(backend, shadow, frame, [], []))


def _shadow_join(backend: SparkBackend, original, args, kwargs):
    left = backend.shadow_of(args[0])
    other = args[1] if len(args) > 1 else kwargs.get("other")
    right = backend.shadow_of(other).renamed(backend.context.name)
    rest = {k: v for k, v in kwargs.items() if k != "other"}
    frame = original(left.frame, right.frame, *args[2:], **rest)
    joined = Shadow(frame, left.factors + right.factors, {}, left.unknown or right.unknown)
    joined = joined.derive(frame)
    values, f = {}, F()
    updates, drops = {}, []
    for column in backend.context.value_columns:
        sides = [s.values[column] for s in (left, right) if column in s.values and s.values[column] in frame.columns]
        if len(sides) == 1:
            values[column] = sides[0]
        elif len(sides) == 2:
            # The first input with a row gives the value (the left side, where it has one).
            name = backend.context.name()
            updates[name] = f.coalesce(ref(sides[0]), ref(sides[1]))
            drops += sides
            values[column] = name
    if updates:
        frame = frame.withColumns(updates).drop(*drops)
    joined = Shadow(frame, tuple(x for x in joined.factors if x.column in frame.columns), values, joined.unknown)
    joined._sides = ([x.column for x in left.factors], [x.column for x in right.factors])
    return _finish(backend, joined)


def _shadow_union(by_name: bool):
    def shadow_step(backend: SparkBackend, original, args, kwargs):
        left = backend.shadow_of(args[0])
        other = args[1] if len(args) > 1 else kwargs.get("other")
        right = backend.shadow_of(other)
        aligned, factors, values, unknown = _aligned([left, right], backend)
        frame = original(aligned[0], aligned[1], *args[2:], **{k: v for k, v in kwargs.items() if k != "other"})
        return _finish(backend, Shadow(frame, factors, values, unknown), False)

    return shadow_step


def _aligned(shadows: List[Shadow], backend: SparkBackend):
    """The shadows with the same hidden columns, by name, at the end: one per source and per value."""
    f, context = F(), backend.context
    unknown = next((s.unknown for s in shadows if s.unknown), None)
    if any(isinstance(x, GroupFactor) for s in shadows for x in s.factors):
        unknown = unknown or "a union of aggregated rows"
    sources = [] if unknown else sorted({x.source for s in shadows for x in s.factors})
    factor_names = {source: context.name() for source in sources}
    value_names = {column: context.name() for column in sorted({c for s in shadows for c in s.values})}
    frames = []
    for shadow in shadows:
        by_source = {x.source: x.column for x in shadow.factors if isinstance(x, IdFactor)}
        hidden = []
        for source, name in factor_names.items():
            column = ref(by_source[source]) if source in by_source else f.lit(None).cast("map<string,bigint>")
            hidden.append(column.alias(name))
        for column, name in value_names.items():
            if column in shadow.values:
                hidden.append(ref(shadow.values[column]).alias(name))
            else:
                hidden.append(f.create_map(f.lit(VALUE), f.lit(None)).alias(name))
        frames.append(shadow.frame.select(*[ref(c) for c in shadow.user_columns()], *hidden))
    factors = tuple(IdFactor(name, source) for source, name in factor_names.items())
    return frames, factors, value_names, unknown


def _shadow_split(backend: SparkBackend, original, args, kwargs):
    shadow = backend.shadow_of(args[0])
    parts = original(shadow.frame, *args[1:], **kwargs)
    outputs = [shadow.derive(part) for part in parts]
    weights = list(args[1] if len(args) > 1 else kwargs["weights"])
    if len(outputs) > 1 and _covers(weights) and deterministic(shadow.frame):
        outputs[-1].rest_of = (shadow, outputs[:-1])
    users = [out.user_frame() for out in outputs]
    return users, list(zip(users, outputs))


def _covers(weights) -> bool:
    """Whether ``randomSplit``'s parts cover every row: its sampling ranges (the weights normalised and
    summed up as Spark does) end at 1.0; each row draws one number, and falls in exactly one range."""
    total, end = sum(weights), 0.0
    for weight in weights:
        end += weight / total
    return end == 1.0


def _shadow_to_pandas(backend: SparkBackend, original, args, kwargs):
    """``toPandas`` of the shadow, one Spark job: the hidden ids become the pandas frame's annotations.

    The rows are the user's query's (Spark fixes no row order without ``orderBy``, with
    or without us); the user's frame is the result without the hidden columns.
    """
    shadow = backend.shadow_of(args[0])
    context = backend.context
    flat = {x.column: ref(x.column)[GROUP if isinstance(x, GroupFactor) else ID] for x in shadow.factors}
    flat.update({h: ref(h)[VALUE] for h in shadow.values.values()})
    frame = original(shadow.frame.withColumns(flat) if flat else shadow.frame, *args[1:], **kwargs)
    user = frame.drop(columns=shadow.hidden) if shadow.hidden else frame
    annotations = CarriedAnnotations(carrier=None)
    reason = shadow.unknown
    if context.lineage and reason is None and shadow.factors:
        if all(isinstance(x, IdFactor) for x in shadow.factors):
            factors = []
            for x in shadow.factors:
                raw = frame[x.column]
                present = raw.notna().to_numpy()
                ids = np.full(len(raw), -1, dtype=np.int64)
                ids[present] = context.positions(x.source, raw[present].astype(np.int64).to_numpy())
                factors.append(Factor(x.source, ids))
            annotations[LINEAGE] = Lineage(tuple(factors), len(user))
        else:
            reason = "aggregated Spark rows: their group lineage stays in Spark"
    for column, hidden in shadow.values.items():
        annotations[("value", column)] = ValueColumn.from_values(frame[hidden].to_numpy())
    backend.run.objects.set(user, Tracked(annotations=annotations))
    backend.pandas_rows_unknown = reason if context.lineage else None
    return user, []


def _shadow_persist(backend: SparkBackend, original, args, kwargs):
    """``cache``/``persist``: the user's DataFrame as asked, and its shadow, which later steps read."""
    result = original(*args, **kwargs)
    shadow = backend.shadows.get(args[0])
    if shadow is not None:
        original(shadow.frame, *args[1:], **kwargs)
    return result, []


# -- records ----------------------------------------------------------------------------------------

def _record_read(backend: SparkBackend, call: OperatorCall, result) -> None:
    path = call.arg(1, "path", call.kwargs.get("tableName"))
    if isinstance(path, (list, tuple)) and path:
        path = path[0]
    if call.function.name.endswith(".table"):
        name, source_path = f"table {path}", None
    elif isinstance(path, (str, os.PathLike)):
        name, source_path = os.path.basename(os.path.normpath(os.fspath(path))), os.fspath(path)
    else:
        name, source_path = type(path).__name__, None
    backend.node(call, T.DATA_SOURCE, f"Read {name}", result, [], source_path=source_path)


def _record_create(backend: SparkBackend, call: OperatorCall, result) -> None:
    data = call.arg(1, "data")
    tracked = backend.run.tracked(data) if isinstance(data, pd.DataFrame) else None
    if tracked is not None and tracked.node is not None:
        backend.node(call, T.PROJECTION, "Convert pandas DataFrame to Spark (createDataFrame)", result, [data])
    else:
        backend.node(call, T.DATA_SOURCE, f"Create DataFrame from {type(data).__name__}", result, [])


def _unary(operator_type: OperatorType, text: Callable[[OperatorCall], str]):
    def record(backend: SparkBackend, call: OperatorCall, result) -> None:
        backend.node(call, operator_type, text(call), result, [call.args[0]])

    return record


def _arguments(call: OperatorCall) -> list:
    return _flat(call.args[1:])


def _record_select(backend: SparkBackend, call: OperatorCall, result) -> None:
    arguments = _arguments(call)
    plain = all(isinstance(a, str) for a in arguments) and call.function.name.endswith(".select")
    backend.node(call, T.PROJECTION if plain else T.PROJECTION_MODIFY, f"Project: {describe(arguments)}", result,
                 [call.args[0]])


def _record_with_columns(backend: SparkBackend, call: OperatorCall, result) -> None:
    mapping = call.args[1] if len(call.args) > 1 and isinstance(call.args[1], dict) else {}
    text = "; ".join(f"{name} = {describe(column)}" for name, column in mapping.items())
    backend.node(call, T.PROJECTION_MODIFY, f"Set columns {text}", result, [call.args[0]])


def _record_join(backend: SparkBackend, call: OperatorCall, result) -> None:
    left, other = call.args[0], call.arg(1, "other")
    on, how = call.arg(2, "on"), call.arg(3, "how") or "inner"
    keys = "" if on is None else f" on {describe(on)}"
    carrier = _join_carrier(backend, call, result, left, other)
    backend.node(call, T.JOIN, f"{str(how).capitalize()} join{keys}", result, [left, other], carrier=carrier)


def _join_carrier(backend: SparkBackend, call: OperatorCall, result, left, other):
    """The side whose rows the join's rows are (its ids most distinct in the output), counted by Spark."""
    shadow = backend.shadows.get(result)
    sides = getattr(shadow, "_sides", None)
    if shadow is None or not sides or not backend.context.value_columns or not all(sides):
        return None
    # In the job that counts the join's sensitive values, which its histograms need anyway.
    distinct = shadow.aggregate([F().approx_count_distinct(ref(columns[0])) for columns in sides])
    winner = left if distinct[0] >= distinct[1] else other
    return backend.node_of(winner, call.location)


def _record_aggregate(backend: SparkBackend, call: OperatorCall, result) -> None:
    receiver = call.args[0]
    if is_frame(receiver):
        source, keys = receiver, []
    else:
        # GroupedData keeps the user's DataFrame it was made from as ``_df``.
        source, keys = receiver._df, _flat(backend.grouped.get(receiver)[1]) if backend.grouped.get(
            receiver) is not None else ["?"]
    name = call.function.name.rsplit(".", 1)[-1]
    backend.node(call, T.GROUP_BY_AGG, f"Group by {describe(keys) or 'all rows'}: {name}({describe(_arguments(call))})",
                 result, [source])


def _flat(arguments) -> list:
    arguments = list(arguments)
    return list(arguments[0]) if len(arguments) == 1 and isinstance(arguments[0], (list, tuple)) else arguments


def _record_group_by(backend: SparkBackend, call: OperatorCall, result) -> None:
    """No node: the keys are remembered for the aggregation's description."""
    if backend.grouped.get(result) is None:
        backend.grouped.set(result, (None, call.args[1:]))


def _record_union(backend: SparkBackend, call: OperatorCall, result) -> None:
    other = call.arg(1, "other")
    how = "by name" if call.function.name.endswith("unionByName") else "by position"
    backend.node(call, T.CONCATENATION, f"Concatenate rows of 2 DataFrames ({how})", result, [call.args[0], other])


def _record_split(backend: SparkBackend, call: OperatorCall, result) -> None:
    weights = list(call.arg(1, "weights"))
    total = sum(weights)
    for index, part in enumerate(result):
        backend.node(call, T.TRAIN_TEST_SPLIT, f"Split: part {index + 1} of {len(result)} "
                     f"({weights[index] / total:.0%} of rows)", part, [call.args[0]])


def _record_to_pandas(backend: SparkBackend, call: OperatorCall, result) -> None:
    source = call.args[0]
    reason = getattr(backend, "pandas_rows_unknown", None) if backend.run.tracks_rows else None
    backend.pandas_rows_unknown = None
    mapping = Unknown(f"Spark toPandas: {reason}") if reason else CARRIED
    item = Input(backend.node_of(source, call.location), source, mapping)
    if backend.run.tracks_rows and backend.run.tracked(result) is not None:
        backend.run.tracked(result).annotations.carrier = item.node
    backend.run.add_node(T.PROJECTION, call.function, call.location, "Collect to pandas (toPandas)",
                         list(result.columns), [item], result)


def _no_node(backend: SparkBackend, call: OperatorCall, result) -> None:
    """Operations that only change how Spark computes (cache, repartition): same node, new shadow."""
    tracked = backend.run.tracked(call.args[0])
    if result is not call.args[0] and tracked is not None and is_frame(result):
        annotations = backend.context.annotations(backend.shadows.get(result), tracked.node) \
            if backend.run.tracks_rows else None
        backend.run.objects.set(result, Tracked(node=tracked.node, annotations=annotations))


def _sample_text(call: OperatorCall) -> str:
    fraction = next((a for a in call.args[1:] if isinstance(a, float)), call.kwargs.get("fraction"))
    return f"Sample {fraction:.0%} of rows" if isinstance(fraction, float) else "Sample rows"


def _dropna_text(call: OperatorCall) -> str:
    subset = call.arg(3, "subset")
    return "Drop rows with missing values" + (f" in {describe(subset)}" if subset else "")


def _frame_operators() -> Dict[str, Operator]:
    same, moving, row_map = _same_call(), _same_call(keeps_rows=True), _same_call(row_wise=True)
    select = Operator(_record_select, _shadow_select)
    deduplicate = Operator(_unary(T.SELECTION, lambda c: "Drop duplicate rows" + (
        f" by {describe(c.arg(1, 'subset'))}" if c.arg(1, "subset") else "")), _shadow_deduplicate)
    group_by = Operator(_record_group_by, _shadow_group_by)
    sort = Operator(_unary(T.SORT, lambda c: f"Sort by {describe(_arguments(c))}"), moving)
    union = Operator(_record_union, _shadow_union(False))
    persist = Operator(_no_node, _shadow_persist)
    return {
        "filter": Operator(_unary(T.SELECTION, lambda c: f"Select: {describe(c.arg(1, 'condition'))}"), same),
        "where": Operator(_unary(T.SELECTION, lambda c: f"Select: {describe(c.arg(1, 'condition'))}"), same),
        "select": select,
        "selectExpr": select,
        "withColumn": Operator(_unary(T.PROJECTION_MODIFY, lambda c: (
            f"Set column {c.arg(1, 'colName')!r}: {describe(c.arg(2, 'col'))}")),
            _same_call(lambda args, kwargs: [args[1] if len(args) > 1 else kwargs.get("colName")], row_wise=True)),
        "withColumns": Operator(_record_with_columns, _same_call(
            lambda args, kwargs: list(args[1]) if len(args) > 1 and isinstance(args[1], dict) else [],
            row_wise=True)),
        "withColumnRenamed": Operator(_unary(T.PROJECTION, lambda c: (
            f"Rename {c.arg(1, 'existing')!r} to {c.arg(2, 'new')!r}")),
            _same_call(lambda args, kwargs: [args[2] if len(args) > 2 else kwargs.get("new")], row_wise=True)),
        "withColumnsRenamed": Operator(_unary(T.PROJECTION, lambda c: f"Rename {short_repr(c.arg(1, 'colsMap'))}"),
                                       _same_call(lambda args, kwargs: list(dict(args[1]).values()), row_wise=True)),
        "drop": Operator(_unary(T.PROJECTION, lambda c: f"Drop columns {describe(_arguments(c))}"), row_map),
        "dropna": Operator(_unary(T.SELECTION, _dropna_text), _shadow_subset("subset", 3)),
        "fillna": Operator(_unary(T.PROJECTION_MODIFY, lambda c: (
            f"Fill missing values with {short_repr(c.arg(1, 'value'))}")), _shadow_subset("subset", 2)),
        "join": Operator(_record_join, _shadow_join),
        "groupBy": group_by,
        "groupby": group_by,
        "agg": Operator(_record_aggregate, _shadow_frame_aggregate),
        "union": union,
        "unionAll": union,
        "unionByName": Operator(_record_union, _shadow_union(True)),
        "distinct": deduplicate,
        "dropDuplicates": deduplicate,
        "drop_duplicates": deduplicate,
        "randomSplit": Operator(_record_split, _shadow_split),
        "sample": Operator(_unary(T.SELECTION, _sample_text), same),
        "limit": Operator(_unary(T.SELECTION, lambda c: f"First {c.arg(1, 'num')} rows"), same),
        "orderBy": sort,
        "sort": sort,
        "toPandas": Operator(_record_to_pandas, _shadow_to_pandas),
        "cache": persist,
        "persist": persist,
        "repartition": Operator(_no_node, moving),
        "coalesce": Operator(_no_node, moving),
        "alias": Operator(_no_node, moving),
        "hint": Operator(_no_node, moving),
    }
