"""pandas operators: which call becomes which DAG node, with what description.

Every supported method is one entry of ``_frame_handlers`` (or of the Series
expression tables); ``install`` patches each where it is defined and dispatches on
the receiver's type, so DataFrame and Series may share an ``NDFrame`` method.
"""
from __future__ import annotations

import functools
import inspect
import os
from collections import defaultdict
from typing import Any, Callable, Dict, Iterable, List, Optional

import numpy as np
import pandas as pd

from lester_inspect.backends.formatting import column_list, short_repr
from lester_inspect.backends.pandas_generic import (ESCAPES, FRAME_OPERATORS, NOT_OPERATORS, describe_call, escape,
                                                    from_python, generic, generic_function, keeping_labels,
                                                    positions_by_index, window_classes, window_map, wrap_classmethod)
from lester_inspect.backends.pandas_operators import (columns_from, combine_first, crosstab, frame_eval,
                                                      frame_filter, frame_from, get_dummies, group_apply, group_map,
                                                      group_select, insert, keyed_columns, largest, melt, pivot,
                                                      pivot_table, pop, resample, resample_aggregate, resampled_rows,
                                                      resampler_getitem, series_constructor, set_columns, set_index,
                                                      store_in_place, take, update, value_counts)
from lester_inspect.backends.series_expressions import (ATOM, FUNCTIONS, SeriesExpression, column_expression,
                                                        datetime_method_handlers, expression_of, function_handler,
                                                        property_handler, series_handlers, string_method_handlers,
                                                        track)
from lester_inspect.backends.udf_columns import columns_read_by
from lester_inspect.instrumentation.dag import CodeLocation, DagNode, OperatorType
from lester_inspect.instrumentation.rows import (IDENTITY, NOT_COMPUTED, Groups, Input, Positions, Unknown,
                                                never_unknown, segment)
from lester_inspect.instrumentation.run import InstrumentedRun, OperatorCall, function_info

T = OperatorType


def _generic_classes():
    from pandas.core.groupby.generic import DataFrameGroupBy, SeriesGroupBy

    return (pd.DataFrame, pd.Series, DataFrameGroupBy, SeriesGroupBy)


def defining_class(cls: type, name: str) -> Optional[type]:
    for klass in cls.__mro__:
        if name in vars(klass):
            return klass
    return None


def _output(call: OperatorCall, result: Any) -> Any:
    """The object an operator produced: its result, or the receiver for ``inplace=True``."""
    if result is None and call.kwargs.get("inplace"):
        return call.args[0]
    return result


def _columns(obj: Any) -> Iterable:
    if isinstance(obj, pd.DataFrame):
        return obj.columns  # the Index itself: add_node turns it into names once per distinct Index array
    if isinstance(obj, pd.Series):
        return [obj.name]
    return []


def _node(call: OperatorCall, operator_type: OperatorType, description: str, result: Any,
          inputs: List[Input], **attributes) -> Optional[DagNode]:
    output = _output(call, result)
    if not isinstance(output, (pd.DataFrame, pd.Series)):
        return None
    return call.run.add_node(operator_type, call.function, call.location, description, _columns(output),
                             inputs, output, **attributes)


def unary(operator_type: OperatorType, describe: Callable[[OperatorCall], str], keeps_rows: bool = True,
          keeps_order: bool = False):
    """An operator with the receiver as its only input: a map, or (``keeps_rows=False``) a resampling;
    ``keeps_order``: one that only drops rows."""

    def handle(call: OperatorCall, result: Any) -> None:
        source = call.args[0]
        rows = IDENTITY if keeps_rows else positions_by_index(source, _output(call, result), call, keeps_order,
                                                              picks_rows=True)
        _node(call, operator_type, describe(call), result, [call.run.input(source, call.location, rows)])

    if not keeps_rows:
        handle.prepare = keeping_labels
    return handle


# -- data sources -------------------------------------------------------------------------------

_PATH_KEYWORDS = ("filepath_or_buffer", "path", "io", "path_or_buf", "path_or_buffer")


def read_file(call: OperatorCall, result: Any) -> None:
    path = call.args[0] if call.args else next((call.kwargs[k] for k in _PATH_KEYWORDS if k in call.kwargs), None)
    name = os.path.basename(path) if isinstance(path, (str, os.PathLike)) else type(path).__name__
    source_path = os.fspath(path) if isinstance(path, (str, os.PathLike)) else None
    _node(call, T.DATA_SOURCE, f"Read {name}", result, [], source_path=source_path)


def read_sql(call: OperatorCall, result: Any) -> None:
    query = call.arg(0, "sql", call.kwargs.get("table_name"))
    _node(call, T.DATA_SOURCE, f"Read SQL {short_repr(' '.join(str(query).split()))}", result, [],
          source_path=None, sql=str(query))


def frame_constructor(call: OperatorCall, result: Any) -> None:
    frame, data = call.args[0], call.arg(1, "data")
    values = data.values() if isinstance(data, dict) else data if isinstance(data, (list, tuple)) else [data]
    tracked = [v for v in values if call.run.tracked(v) is not None]
    description = f"Create DataFrame from {type(data).__name__}"
    if not tracked:
        from_python(call, frame, description, data)
        return
    columns_from(call, frame, tracked, description, named=data if isinstance(data, dict) else None)


# -- projections and selections ---------------------------------------------------------------------

def _is_mask(key: Any) -> bool:
    if isinstance(key, (pd.Series, np.ndarray, pd.Index)):
        return key.dtype == bool or str(key.dtype) == "boolean"
    return isinstance(key, list) and bool(key) and all(isinstance(k, (bool, np.bool_)) for k in key)


def _mask_description(call: OperatorCall, mask: Any) -> str:
    expression = expression_of(call.run, mask)
    return f"Select: {expression.text}" if expression is not None else "Select: by boolean mask"


def _select(call: OperatorCall, result: Any, frame: Any, rows: Any, columns: Any = None) -> None:
    """Rows (and optionally columns) chosen by a mask, labels or positions."""
    output = _output(call, result)
    if _is_mask(rows):
        description = _mask_description(call, rows)
        inputs = [call.run.input(frame, call.location, never_unknown(lambda: Positions(np.flatnonzero(
            rows.to_numpy() if isinstance(rows, pd.Series) else np.asarray(rows)), has_missing=False)))]
        if _mask_from_elsewhere(call, frame, rows):
            inputs.append(call.run.input(rows, call.location, rows=None))
    else:
        description = f"Select rows: {short_repr(rows)}"
        inputs = [call.run.input(frame, call.location, positions_by_index(frame, output))]
    if columns is not None and not _is_full_slice(columns):
        description += f", project {column_list(columns)}"
    _node(call, T.SELECTION, description, result, inputs)


def _mask_from_elsewhere(call: OperatorCall, frame: Any, mask: Any) -> bool:
    """Whether the mask was computed from other rows than the frame's own (then it is an input too)."""
    expression = expression_of(call.run, mask)
    tracked = call.run.tracked(frame)
    if expression is None or tracked is None or expression.others:
        return True
    rows_of_frame = tracked.expression.base if isinstance(tracked.expression, SeriesExpression) else tracked.node
    return expression.base is not rows_of_frame


def _is_full_slice(key: Any) -> bool:
    return isinstance(key, slice) and key == slice(None)


def frame_getitem(call: OperatorCall, result: Any) -> None:
    frame, key = call.args[0], call.args[1]
    if isinstance(result, pd.Series):
        base = call.run.input_node(frame, call.location)
        track(call, result, column_expression(call, base, key), frame)
    elif _is_mask(key) or isinstance(key, slice):
        _select(call, result, frame, key)
    else:
        _node(call, T.PROJECTION, f"Project: {column_list(result.columns)}", result,
              [call.run.input(frame, call.location)])


def indexer_getitem(call: OperatorCall, result: Any) -> None:
    """``df.loc[...]`` and ``df.iloc[...]``: rows, columns or both."""
    frame, key = call.args[0].obj, call.args[1]
    rows, columns = key if isinstance(key, tuple) and len(key) == 2 else (key, None)
    if not isinstance(result, (pd.DataFrame, pd.Series)):
        return
    if _is_full_slice(rows):
        if isinstance(result, pd.Series):
            base = call.run.input_node(frame, call.location)
            track(call, result, column_expression(call, base, columns), frame)
        else:
            _node(call, T.PROJECTION, f"Project: {column_list(result.columns)}", result,
                  [call.run.input(frame, call.location)])
    elif isinstance(result, pd.DataFrame) or columns is not None:
        _select(call, result, frame, rows, columns)


def frame_setitem(call: OperatorCall, result: Any) -> None:
    frame, key, value = call.args[0], call.args[1], call.args[2]
    keys = list(key) if isinstance(key, (list, pd.Index, np.ndarray)) else [key]
    source = call.run.call_sites.source_for(call.location)
    statement = source.enclosing_assignment(call.location) if source else call.location
    set_columns(call, frame, keys, value, "Set", statement)


def drop(call: OperatorCall, result: Any) -> None:
    labels, axis = call.arg(1, "labels"), call.arg(2, "axis", 0)
    columns, index = call.kwargs.get("columns"), call.kwargs.get("index")
    if columns is not None or (labels is not None and axis in (1, "columns")):
        described = column_list(columns if columns is not None else labels)
        unary(T.PROJECTION, lambda c: f"Drop columns {described}")(call, result)
    else:
        rows = index if index is not None else labels
        unary(T.SELECTION, lambda c: f"Drop rows {short_repr(rows)}", keeps_rows=False, keeps_order=True)(
            call, result)


def dropna(call: OperatorCall, result: Any) -> None:
    subset = call.kwargs.get("subset")
    scope = f" in {column_list(subset)}" if subset is not None else ""
    if call.kwargs.get("axis", 0) in (1, "columns"):
        unary(T.PROJECTION, lambda c: "Drop columns with missing values")(call, result)
    else:
        unary(T.SELECTION, lambda c: f"Drop rows with missing values{scope}", keeps_rows=False,
              keeps_order=True)(call, result)


def drop_duplicates(call: OperatorCall, result: Any) -> None:
    """A kept row stands for all its duplicates: its lineage is their sum."""
    source, subset = call.args[0], call.arg(1, "subset")
    output = _output(call, result)
    by_index = positions_by_index(source, output, call)

    def groups():
        kept = by_index()
        if not isinstance(kept, Positions) or call.arg(2, "keep", "first") is False:
            return kept
        frame = source.to_frame() if isinstance(source, pd.Series) else source
        keys = frame if subset is None else frame[[subset] if isinstance(subset, str) else list(subset)]
        codes = keys.groupby(list(keys.columns), dropna=False, sort=False).ngroup().to_numpy()
        output_of_group = np.full(codes.max() + 1 if len(codes) else 0, -1, dtype=np.int64)
        output_of_group[codes[kept.positions]] = np.arange(len(kept.positions))
        return Groups(output_of_group[codes], len(kept.positions), kept.positions)

    described = f" by {column_list(subset)}" if subset is not None else ""
    _node(call, T.SELECTION, f"Drop duplicate rows{described}", result,
          [call.run.input(source, call.location, groups)])


drop_duplicates.prepare = keeping_labels


dropna.prepare = keeping_labels
drop.prepare = keeping_labels


def head_or_tail(which: str):
    """``head``/``tail``: the first or last rows by position, so the mapping needs no row labels."""

    def handle(call: OperatorCall, result: Any) -> None:
        source, count = call.args[0], len(_output(call, result))
        start = len(source) - count if which == "Last" else 0  # now: the source may grow later

        @never_unknown
        def positions():
            return Positions(np.arange(start, start + count), has_missing=False)

        _node(call, T.SELECTION, f"{which} {call.arg(1, 'n', 5)} rows", result,
              [call.run.input(source, call.location, positions)])

    return handle


def _describe_sample(call: OperatorCall) -> str:
    n, frac = call.arg(1, "n"), call.kwargs.get("frac")
    return f"Sample {frac:.0%} of rows" if frac is not None else f"Sample {n if n is not None else 1} rows"


# -- joins, group-bys, concatenation --------------------------------------------------------------

def merge(call: OperatorCall, result: Any) -> None:
    left, right = call.args[0], call.arg(1, "right")
    how = call.arg(2, "how", "inner")
    on, left_on, right_on = call.arg(3, "on"), call.arg(4, "left_on"), call.arg(5, "right_on")
    if on is not None:
        keys = f"on {column_list(on)}"
    elif left_on is not None or right_on is not None:
        keys = f"on {column_list(left_on)} = {column_list(right_on)}"
    elif call.kwargs.get("left_index") or call.kwargs.get("right_index"):
        keys = "on index"
    else:
        keys = "on common columns" if how != "cross" else ""
    _node(call, T.JOIN, f"{how.capitalize()} join {keys}".rstrip(), result, _join_inputs(call, [left, right]))


def join(call: OperatorCall, result: Any) -> None:
    left, other = call.args[0], call.arg(1, "other")
    on, how = call.arg(2, "on"), call.arg(3, "how", "left")
    others = list(other) if isinstance(other, (list, tuple)) else [other]
    keys = f"on {column_list(on)}" if on is not None else "on index"
    _node(call, T.JOIN, f"{how.capitalize()} join {keys}", result, _join_inputs(call, [left, *others]))


def _join_inputs(call: OperatorCall, frames: List[Any]) -> List[Input]:
    positions = call.extra or [None] * len(frames)
    if call.extra is None and not call.run.tracks_rows and all(isinstance(f, pd.DataFrame) for f in frames):
        unprepared = NOT_COMPUTED  # the row ids a run tracking rows pushes through the join would give them
    else:
        unprepared = Unknown("the join's inputs were not all DataFrames")
    return [call.run.input(frame, call.location, Positions(rows) if rows is not None else unprepared)
            for frame, rows in zip(frames, positions)]


def _with_row_ids(*slots):
    """A ``prepare`` step that pushes a hidden row-id column through a join and takes it out again.

    ``slots`` name the frames among the arguments as (position, keyword). The mlinspect
    paper's technique: the join itself tells which input rows each output row has.
    """

    def prepare(call: OperatorCall):
        args, kwargs = list(call.args), dict(call.kwargs)
        names = []
        for index, (position, keyword) in enumerate(slots):
            in_kwargs = keyword in kwargs
            frame = kwargs[keyword] if in_kwargs else (args[position] if position < len(args) else None)
            if not isinstance(frame, pd.DataFrame):
                return call.args, call.kwargs, lambda result: (result, None)
            name = f"__lester_row_id_{index}_{id(call)}"
            marked = frame.assign(**{name: np.arange(len(frame), dtype=np.int64)})
            if in_kwargs:
                kwargs[keyword] = marked
            else:
                args[position] = marked
            names.append(name)

        def finish(result):
            positions = [np.nan_to_num(result[name].to_numpy(dtype=np.float64), nan=-1).astype(np.int64)
                         for name in names]
            return result.drop(columns=names), positions

        return tuple(args), kwargs, finish

    return prepare


merge.prepare = _with_row_ids((0, "left"), (1, "right"))
join.prepare = _with_row_ids((0, "self"), (1, "other"))


def concat(call: OperatorCall, result: Any) -> None:
    objs = call.arg(0, "objs")
    frames = list(objs.values()) if isinstance(objs, dict) else list(objs)
    along_columns = call.arg(1, "axis", 0) in (1, "columns")
    inputs = []
    offset = 0
    for frame in frames:
        if along_columns:
            rows = positions_by_index(frame, result)
        else:
            rows = segment(offset, len(frame), len(result))
            offset += len(frame)
        inputs.append(call.run.input(frame, call.location, rows))
    _node(call, T.CONCATENATION, f"Concatenate {len(frames)} {'columns' if along_columns else 'rows'}",
          result, inputs)


def groupby_aggregate(name: str):
    def handle(call: OperatorCall, result: Any) -> None:
        if resample_aggregate(call, result):  # ``df.resample(..., on=...)["v"]`` is a group-by over bins
            return
        grouped = call.args[0]
        keys = grouped.keys
        if isinstance(keys, pd.Series):
            keys = keys.name
        elif keys is None:
            keys = grouped.level
        parts = [short_repr(a) for a in call.args[1:]]
        parts += [f"{k}={short_repr(v)}" for k, v in call.kwargs.items()]
        selected = f"{grouped.obj.name}." if isinstance(grouped.obj, pd.Series) else ""
        aggregation = f"{selected}{name}({', '.join(parts)})"

        def groups():
            if len(result) != grouped.ngroups:
                return Unknown(f"{call.function}: {len(result)} rows for {grouped.ngroups} groups")
            codes = np.asarray(grouped.ngroup(), dtype=np.float64)
            return Groups(np.where(np.isnan(codes), -1, codes).astype(np.int64), len(result))

        source = call.run.input(grouped.obj, call.location, groups)
        if isinstance(result, (pd.DataFrame, pd.Series)):
            call.run.add_node(T.GROUP_BY_AGG, call.function, call.location,
                              f"Group by {column_list(keys)}: {aggregation}", keyed_columns(result), [source],
                              result, derivations=_aggregation_derivations(source.node, grouped, call.kwargs))

    return handle


def _aggregation_derivations(node: DagNode, grouped: Any, named: dict) -> dict:
    """Named aggregations read their input column; the group keys (index or columns) read themselves."""
    keys = grouped.keys if isinstance(grouped.keys, list) else [grouped.keys]
    derivations = {key: [(node, key)] for key in keys if isinstance(key, str)}
    if isinstance(grouped.obj, pd.Series) and grouped.obj.name is not None:
        derivations[grouped.obj.name] = [(node, grouped.obj.name)]
    for output, spec in named.items():
        if isinstance(spec, tuple) and len(spec) == 2:
            derivations[output] = [(node, spec[0])]
    return derivations


def frame_apply(call: OperatorCall, result: Any) -> None:
    """``df.apply(f, axis=1)``: a pending Series computed from the columns ``f`` reads."""
    frame, function = call.args[0], call.arg(1, "func")
    if call.arg(2, "axis", 0) not in (1, "columns") or not isinstance(result, pd.Series):
        if isinstance(function, np.ufunc) and isinstance(result, pd.DataFrame):  # element-wise by definition
            unary(T.PROJECTION_MODIFY, lambda c: f"Apply {function.__name__} to every value")(call, result)
        else:  # column-wise: the rows may be kept, reordered or reduced; the generic rule decides
            generic(call, result)
        return
    base = call.run.input_node(frame, call.location)
    read = columns_read_by(function) if callable(function) else None
    if read is None:
        read, note = list(frame.columns), ", reads all columns: its body does not say which"
    else:
        read, note = sorted(read, key=str), ""
    name = getattr(function, "__name__", "function")
    text = f"apply({'lambda' if name == '<lambda>' else name}) over rows{note}"
    expression = SeriesExpression(text, ATOM, base, (), call.location, call.function,
                                  reads=frozenset((base, column) for column in read))
    track(call, result, expression, frame)


def groupby_getitem(call: OperatorCall, result: Any) -> None:
    # The selected column of a group-by is a Series pandas makes internally; it
    # carries the rows of the grouped frame.
    _share(call, call.args[0].obj, result.obj)


def frame_getattr(call: OperatorCall, result: Any) -> None:
    """``df.age``: the column, as ``df['age']``."""
    frame, name = call.args[0], call.args[1]
    if isinstance(result, pd.Series) and isinstance(frame, pd.DataFrame) and name in frame.columns:
        base = call.run.input_node(frame, call.location)
        track(call, result, column_expression(call, base, name), frame)


def frame_get(call: OperatorCall, result: Any) -> None:
    """``df.get('age')`` / ``df.get(['a', 'b'])``: a column or a projection (None when missing)."""
    if isinstance(result, (pd.DataFrame, pd.Series)):
        frame_getitem(OperatorCall(call.run, call.function, call.location, call.args[:2], {}), result)


def frame_expression(call: OperatorCall, result: Any) -> None:
    """``df.duplicated(subset)``: a Series computed from the frame's rows, pending like a column expression."""
    frame = call.args[0]
    subset = call.arg(1, "subset")
    read = list(frame.columns) if subset is None else [subset] if isinstance(subset, str) else list(subset)
    base = call.run.input_node(frame, call.location)
    text = describe_call(call)
    track(call, result, SeriesExpression(text, ATOM, base, (), call.location, call.function,
                                         reads=frozenset((base, c) for c in read)), frame)


def alias(call: OperatorCall, result: Any) -> None:
    """Conversions (``to_numpy``, ``values``) hand on the same rows: same node and annotations, no new node."""
    _share(call, call.args[0], result)


def _share(call: OperatorCall, source: Any, result: Any) -> None:
    # Shared, not copied: a pending Series and its array become one node if either is used as data.
    tracked = call.run.tracked(source)
    if tracked is not None:
        call.run.objects.set(result, tracked)


_AGGREGATIONS = ("agg", "aggregate", "mean", "sum", "count", "size", "min", "max", "median", "std",
                 "var", "first", "last", "nunique", "prod", "sem", "skew", "quantile", "describe", "idxmax",
                 "idxmin", "any", "all")
_GROUP_MAPS = ("transform", "rank", "cumsum", "cumprod", "cummax", "cummin", "cumcount", "shift", "diff",
               "pct_change", "ffill", "bfill", "ngroup")
_GROUP_SELECTIONS = ("filter", "head", "tail", "nth", "sample")
_RESAMPLER_AGGREGATIONS = ("agg", "aggregate", "count", "first", "last", "max", "mean", "median", "min", "nunique",
                           "ohlc", "prod", "quantile", "sem", "size", "std", "sum", "var")
_RESAMPLER_ROWS = ("apply", "transform", "asfreq", "bfill", "ffill", "nearest", "interpolate")
_ROW_PICKERS = ("dropna", "head", "tail", "sample", "sort_values", "sort_index", "drop_duplicates")


def _frame_handlers() -> Dict[type, Dict[str, Callable]]:
    from pandas.core.groupby.generic import DataFrameGroupBy, SeriesGroupBy
    from pandas.core.indexing import _iLocIndexer, _LocIndexer

    frame = {
        "__init__": frame_constructor,
        "__getitem__": frame_getitem,
        "__setitem__": frame_setitem,
        "query": unary(T.SELECTION, lambda c: f"Select: {c.arg(1, 'expr')}", keeps_rows=False, keeps_order=True),
        "dropna": dropna,
        "drop_duplicates": drop_duplicates,
        "head": head_or_tail("First"),
        "tail": head_or_tail("Last"),
        "sample": unary(T.SELECTION, _describe_sample, keeps_rows=False),
        "sort_values": unary(T.SORT, lambda c: f"Sort by {column_list(c.arg(1, 'by'))}", keeps_rows=False),
        "explode": unary(T.RESHAPE, lambda c: f"Explode {column_list(c.arg(1, 'column'))}", keeps_rows=False),
        "drop": drop,
        "fillna": unary(T.PROJECTION_MODIFY, lambda c: f"Fill missing values with {short_repr(c.arg(1, 'value'))}"),
        "replace": unary(T.PROJECTION_MODIFY, lambda c: (
            f"Replace {short_repr(c.arg(1, 'to_replace'))} with {short_repr(c.arg(2, 'value'))}")),
        "astype": unary(T.PROJECTION_MODIFY, lambda c: f"Cast to {short_repr(c.arg(1, 'dtype'))}"),
        "assign": assign,
        "apply": frame_apply,
        "rename": unary(T.PROJECTION, lambda c: f"Rename {short_repr(c.kwargs.get('columns', c.arg(1, 'mapper')))}"),
        "reset_index": unary(T.PROJECTION_MODIFY, lambda c: "Reset index" + (
            " (drop it)" if c.kwargs.get("drop") else " into columns")),
        "merge": merge,
        "join": join,
        "to_numpy": alias,
        "copy": alias,
        "sort_index": unary(T.SORT, lambda c: "Sort by row labels", keeps_rows=False),
        "pivot_table": pivot_table,
        "pivot": pivot,
        "melt": melt,
        "value_counts": value_counts,
        "set_index": set_index,
        "nlargest": largest,
        "nsmallest": largest,
        "take": take,
        "filter": frame_filter,
        "insert": insert,
        "pop": pop,
        "eval": frame_eval,
        "combine_first": combine_first,
        "update": update,
        "duplicated": frame_expression,
        "__getattr__": frame_getattr,
        "get": frame_get,
        "map": unary(T.PROJECTION_MODIFY, lambda c: f"Map {short_repr(c.arg(1, 'func'))} over every value"),
        "where": unary(T.PROJECTION_MODIFY, lambda c: f"Keep values where {short_repr(c.arg(1, 'cond'))}, "
                                                      f"else {short_repr(c.arg(2, 'other'))}"),
        "mask": unary(T.PROJECTION_MODIFY, lambda c: f"Replace values where {short_repr(c.arg(1, 'cond'))} "
                                                     f"with {short_repr(c.arg(2, 'other'))}"),
        "clip": unary(T.PROJECTION_MODIFY, lambda c: f"Clip values to [{short_repr(c.arg(1, 'lower'))}, "
                                                     f"{short_repr(c.arg(2, 'upper'))}]"),
        "isna": unary(T.PROJECTION_MODIFY, lambda c: "Missing-value mask"),
        "isnull": unary(T.PROJECTION_MODIFY, lambda c: "Missing-value mask"),
        "notna": unary(T.PROJECTION_MODIFY, lambda c: "Present-value mask"),
        "notnull": unary(T.PROJECTION_MODIFY, lambda c: "Present-value mask"),
    }
    series = dict(series_handlers())
    series.update({"to_numpy": alias, "copy": alias, "reset_index": frame["reset_index"],
                   "value_counts": value_counts, "nlargest": largest, "nsmallest": largest, "take": take,
                   "filter": frame_filter, "combine_first": combine_first, "update": update,
                   "__init__": series_constructor, "explode": frame["explode"], "set_axis": frame_set_axis})
    for name in _ROW_PICKERS:
        series[name] = frame[name]
    for name in ESCAPES:
        series[name] = escape
    frame.update({name: escape for name in ("iterrows", "itertuples", "to_dict")})
    frame["set_axis"] = frame_set_axis
    frame["resample"] = series["resample"] = resample
    series["__getitem__"] = series_getitem
    grouped = {name: groupby_aggregate(name) for name in _AGGREGATIONS}
    grouped.update({name: group_map for name in _GROUP_MAPS})
    grouped.update({name: group_select for name in _GROUP_SELECTIONS})
    grouped["apply"] = group_apply
    from pandas.core.indexes.accessors import DatetimeProperties, TimedeltaProperties
    from pandas.core.resample import Resampler
    from pandas.core.strings.accessor import StringMethods

    resampler = {name: resampled_rows for name in _RESAMPLER_ROWS}
    resampler.update({name: resample_aggregate for name in _RESAMPLER_AGGREGATIONS})
    resampler["__getitem__"] = resampler_getitem
    return {
        Resampler: resampler,
        pd.DataFrame: frame,
        pd.Series: series,
        DataFrameGroupBy: {**grouped, "__getitem__": groupby_getitem},
        SeriesGroupBy: dict(grouped),
        _LocIndexer: {"__getitem__": indexer_getitem},
        _iLocIndexer: {"__getitem__": indexer_getitem},
        StringMethods: string_method_handlers(),
        DatetimeProperties: datetime_method_handlers(),
        TimedeltaProperties: datetime_method_handlers(),
        **{cls: _public_methods(cls, window_map) for cls in window_classes()},
    }


def frame_set_axis(call: OperatorCall, result: Any) -> None:
    """New row labels (or column names) for the same rows in the same order."""
    on_columns = call.arg(2, "axis", 0) in (1, "columns")
    unary(T.PROJECTION if on_columns else T.PROJECTION_MODIFY,
          lambda c: f"Set {'column names' if on_columns else 'row labels'} {short_repr(c.arg(1, 'labels'))}")(
        call, result)


def assign(call: OperatorCall, result: Any) -> None:
    inputs = [call.run.input(call.args[0], call.location)]
    parts, derivations = [], {}
    for name, value in call.kwargs.items():
        expression = expression_of(call.run, value)
        parts.append(f"{name} = {expression.text if expression is not None else short_repr(value)}")
        derivations[name] = sorted(expression.reads, key=str) if expression is not None else []
        if expression is not None:
            inputs += [Input(node, None, rows=None) for node in expression.parents]
    output = _output(call, result)
    call.run.add_node(T.PROJECTION_MODIFY, call.function, call.location, f"Assign {'; '.join(parts)}",
                      _columns(output), inputs, output, derivations=derivations)


def series_getitem(call: OperatorCall, result: Any) -> None:
    series, key = call.args[0], call.args[1]
    if isinstance(result, pd.Series) and (_is_mask(key) or isinstance(key, slice)):
        _select(call, result, series, key)


_FUNCTIONS = {
    "merge": merge,
    "concat": concat,
    "read_sql": read_sql,
    "read_sql_query": read_sql,
    "read_sql_table": read_sql,
    "get_dummies": get_dummies,
    "pivot_table": pivot_table,
    "pivot": pivot,
    "melt": melt,
    "crosstab": crosstab,
    **{name: function_handler(name) for name in FUNCTIONS},
}
_CLASSMETHODS = {"from_records": frame_from, "from_dict": frame_from}
#: Accessor properties computed from the Series (``s.dt.year``).
_DATETIME_PROPERTIES = ("year", "month", "day", "hour", "minute", "second", "dayofweek", "day_of_week",
                        "dayofyear", "day_of_year", "quarter", "weekday", "date", "time", "is_month_start",
                        "is_month_end", "days_in_month", "daysinmonth", "is_leap_year", "days", "seconds",
                        "microsecond", "nanosecond", "is_quarter_start", "is_quarter_end", "is_year_start",
                        "is_year_end")


def _pandas_functions() -> Dict[str, Callable]:
    """Every public pandas function with its handler: a specific one, a reader, or the generic rule."""
    handlers = {}
    for name in dir(pd):
        value = getattr(pd, name)
        if name.startswith("_") or name in NOT_OPERATORS or not inspect.isfunction(value):
            continue
        if name in _FUNCTIONS:
            handlers[name] = _FUNCTIONS[name]
        elif name.startswith("read_"):
            handlers[name] = read_file
        else:
            handlers[name] = generic_function
    return handlers


def _public_methods(cls: type, handler: Callable) -> Dict[str, Callable]:
    names = set()
    for klass in cls.__mro__[:-1]:
        names.update(n for n, v in vars(klass).items() if not n.startswith("_") and inspect.isfunction(v))
    return {name: handler for name in names - NOT_OPERATORS}


def _generic_methods(cls: type, specific: Dict[str, Callable]) -> Dict[str, Callable]:
    """The public methods of ``cls`` without a specific handler, handled by the generic rule."""
    methods = _public_methods(cls, generic)
    if cls is pd.DataFrame:
        methods.update((name, generic) for name in FRAME_OPERATORS)
    return {name: handler for name, handler in methods.items() if name not in specific}


class PandasBackend:
    def __init__(self, run: InstrumentedRun):
        self.run = run
        from pandas.core.indexing import _AtIndexer, _iAtIndexer, _iLocIndexer, _LocIndexer

        self._indexers = {_LocIndexer: "loc", _iLocIndexer: "iloc", _AtIndexer: "at", _iAtIndexer: "iat"}

    def store(self, position: tuple, target: Any, key: Any, value: Any, augmented: Optional[str],
              shape: Optional[tuple]) -> None:
        """A store into a frame or Series (see ``backends/hooks.py``): ``df.loc[...] = v``, ``s[m] = v``,
        ``df[c] += v``. A plain ``df[c] = v`` calls the patched ``DataFrame.__setitem__`` (``frame_setitem``)."""
        indexer = self._indexers.get(type(target), "")
        obj = target.obj if indexer else target
        if not (indexer or isinstance(obj, pd.Series) or augmented and isinstance(obj, pd.DataFrame)) or (
                not isinstance(obj, (pd.DataFrame, pd.Series)) or self.run.tracked(obj) is None):
            return
        call = OperatorCall(self.run, function_info(type(target).__setitem__), CodeLocation(*position),
                            (target, key, value), {})
        self.run.record(functools.partial(store_in_place, obj=obj, indexer=indexer, augmented=augmented,
                                          shape=shape), call, None)

    def install(self, patches) -> None:
        run = self.run
        for name, handler in _pandas_functions().items():
            patches.apply(pd, name, run.wrap(getattr(pd, name), handler))
        by_owner: Dict[tuple, Dict[type, Callable]] = defaultdict(dict)
        for cls, handlers in _frame_handlers().items():
            if cls in _generic_classes():
                handlers = {**_generic_methods(cls, handlers), **handlers}
            for name, handler in handlers.items():
                owner = defining_class(cls, name)
                if owner is not None:
                    by_owner[(owner, name)][cls] = handler
        for (owner, name), per_type in by_owner.items():
            original = vars(owner)[name]
            if isinstance(original, (property, classmethod, staticmethod)) or not callable(original):
                continue
            patches.apply(owner, name, run.wrap(original, _dispatch(per_type)))
        for name, handler in _CLASSMETHODS.items():
            patches.apply(pd.DataFrame, name, wrap_classmethod(run, vars(pd.DataFrame)[name], handler))
        for cls in (pd.DataFrame, pd.Series):
            values = vars(cls)["values"]
            patches.apply(cls, "values", property(run.wrap(values.fget, alias), doc=values.__doc__))
        from pandas.core.indexes.accessors import DatetimeProperties, TimedeltaProperties

        for cls in (DatetimeProperties, TimedeltaProperties):
            for name in _DATETIME_PROPERTIES:
                prop = vars(cls).get(name)
                if isinstance(prop, property):
                    patches.apply(cls, name, property(run.wrap(prop.fget, property_handler(name, ".dt")),
                                                      doc=prop.__doc__))


def _dispatch(per_type: Dict[type, Callable]) -> Callable:
    """One handler for a method shared by several types: the receiver's type chooses."""

    # Per receiver type, found once: a loop of small pandas calls dispatches thousands of times.
    by_type: Dict[type, Optional[Callable]] = {}

    def handler_for(receiver: Any) -> Optional[Callable]:
        kind = type(receiver)
        if kind in by_type:
            return by_type[kind]
        found = next((handler for cls, handler in per_type.items() if isinstance(receiver, cls)), None)
        by_type[kind] = found
        return found

    def dispatch(call: OperatorCall, result: Any) -> None:
        handler = handler_for(call.args[0])
        if handler is not None:
            handler(call, result)

    if any(hasattr(handler, "prepare") for handler in per_type.values()):
        def prepare(call: OperatorCall):
            handler = handler_for(call.args[0])
            if hasattr(handler, "prepare"):
                return handler.prepare(call)
            return call.args, call.kwargs, lambda result: (result, None)

        dispatch.prepare = prepare
    return dispatch
