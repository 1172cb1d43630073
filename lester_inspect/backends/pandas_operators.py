"""pandas' long tail: reshaping, counting, group-wise maps, in-place edits and constructors.

Each handler gives its node exact row mappings (``Identity``, ``Positions``,
``Groups``) where pandas' semantics determine them, and ``Unknown`` naming the
call and the reason where they do not (margins, bins, duplicate labels).
"""
from __future__ import annotations

import ast
import weakref
from typing import Any, Dict, List, Optional

import numpy as np
import pandas as pd

from lester_inspect.backends.formatting import column_list, key_text, short_repr
from lester_inspect.backends.pandas_generic import (columns_of, describe_call, escapes_of, from_python,
                                                    keeping_labels, positions_by_index, rows_by_index,
                                                    tile_positions)
from lester_inspect.backends.series_expressions import ATOM, SeriesExpression, expression_of, track
from lester_inspect.instrumentation.dag import DagNode, OperatorType
from lester_inspect.instrumentation.rows import IDENTITY, Groups, Input, Positions, Unknown
from lester_inspect.instrumentation.run import OperatorCall

T = OperatorType


def keyed_columns(output: Any) -> List:
    """An index-keyed result's columns with its named index levels (the group keys) first."""
    columns = columns_of(output)
    names = [name for name in output.index.names if name is not None and name not in columns]
    return names + columns


def group_codes(output_index: pd.Index, keys: List[Any]) -> np.ndarray:
    """Per input row, the output row whose label its key values are (-1: none, e.g. a dropped NaN key)."""
    if not output_index.is_unique:
        raise ValueError("the result's row labels are not unique")
    if isinstance(output_index, pd.MultiIndex):
        lookup = pd.MultiIndex.from_arrays([np.asarray(key, dtype=object) for key in keys])
        return output_index.get_indexer(lookup)
    return output_index.get_indexer(pd.Index(keys[0]))


def grouped_by_keys(output: Any, keys: List[Any]):
    def groups():
        return Groups(group_codes(output.index, keys), len(output))

    return groups


def _names(spec: Any) -> Optional[List]:
    """Column names given as a label or a list of labels; None for arrays, Series or Groupers."""
    if spec is None:
        return []
    items = list(spec) if isinstance(spec, (list, tuple)) else [spec]
    if all(isinstance(item, (str, int, float, bool)) for item in items):
        return items
    return None


def _key_derivations(node: DagNode, keys: List) -> Dict:
    return {key: [(node, key)] for key in keys}


# -- reshaping ----------------------------------------------------------------------------------------

def get_dummies(call: OperatorCall, result: Any) -> None:
    data = call.arg(0, "data")
    source = call.run.input(data, call.location)
    if isinstance(data, pd.Series):
        encoded = [data.name]
        derivations = {column: [(source.node, data.name)] for column in result.columns}
    else:
        encoded = [column for column in data.columns if column not in result.columns]
        derivations = {}
        for column in result.columns:
            if column in data.columns:
                continue
            origin = _dummy_origin(call, column, encoded)
            derivations[column] = [(source.node, origin)] if origin is not None else [
                (source.node, c) for c in encoded]
    call.run.add_node(T.PROJECTION_MODIFY, call.function, call.location, f"One-hot encode {column_list(encoded)}",
                      columns_of(result), [source], result, derivations=derivations)


def _dummy_origin(call: OperatorCall, column: Any, encoded: List) -> Any:
    """The encoded column a dummy column comes from, by its prefix (the longest that matches)."""
    prefix, separator = call.kwargs.get("prefix"), call.kwargs.get("prefix_sep", "_")
    best = None
    for index, name in enumerate(encoded):
        if isinstance(prefix, dict):
            start = prefix.get(name, name)
        elif isinstance(prefix, (list, tuple)):
            start = prefix[index]
        else:
            start = prefix if prefix is not None else name
        separator_of = separator.get(name, "_") if isinstance(separator, dict) else separator
        if str(column).startswith(f"{start}{separator_of}") and (best is None or len(str(start)) > len(best[0])):
            best = (str(start), name)
    return best[1] if best else None


def pivot_table(call: OperatorCall, result: Any) -> None:
    data = call.arg(0, "data")
    values, index, columns = call.arg(1, "values"), call.arg(2, "index"), call.arg(3, "columns")
    aggfunc = call.arg(4, "aggfunc", "mean")
    keys = _names(index)
    if call.kwargs.get("margins"):
        rows = Unknown(f"{call.function}: margins=True adds rows that aggregate every group")
    elif not keys:
        rows = Unknown(f"{call.function}: index={short_repr(index)} does not name the group columns")
    else:
        rows = grouped_by_keys(result, [data[key] for key in keys])
    source = call.run.input(data, call.location, rows)
    described = f"Pivot table: {short_repr(aggfunc)} of {column_list(values) if values is not None else 'all'}"
    described += f" by {column_list(index)}" + (f" x {column_list(columns)}" if columns is not None else "")
    call.run.add_node(T.GROUP_BY_AGG, call.function, call.location, described, keyed_columns(result), [source],
                      result, derivations=_key_derivations(source.node, keys or []))


def pivot(call: OperatorCall, result: Any) -> None:
    data = call.arg(0, "data")
    index, columns, values = call.kwargs.get("index"), call.kwargs.get("columns"), call.kwargs.get("values")
    keys = _names(index)
    if keys is None:
        rows = Unknown(f"{call.function}: index={short_repr(index)} does not name columns")
    else:
        rows = grouped_by_keys(result, [data[key] for key in keys] if keys else [data.index])
    source = call.run.input(data, call.location, rows)
    described = f"Pivot {column_list(columns)} into columns" + (f" of {column_list(values)}" if values is not None
                                                               else "")
    described += f", rows by {column_list(index)}" if index is not None else ", rows by index"
    call.run.add_node(T.RESHAPE, call.function, call.location, described, keyed_columns(result), [source], result,
                      derivations=_key_derivations(source.node, keys or []))


def melt(call: OperatorCall, result: Any) -> None:
    data = call.arg(0, "frame")
    id_vars, value_vars = call.arg(1, "id_vars"), call.arg(2, "value_vars")

    def positions():
        if len(data) == 0:
            return Positions(np.empty(len(result), dtype=np.int64)) if len(result) == 0 else Unknown(
                f"{call.function}: rows out of an empty frame")
        repeats, rest = divmod(len(result), len(data))
        if rest:
            return Unknown(f"{call.function}: {len(result)} rows are not a whole number of copies of {len(data)}")
        return tile_positions(len(data), repeats)

    melted = column_list(value_vars) if value_vars is not None else "all other columns"
    kept = f", keep {column_list(id_vars)}" if id_vars is not None else ""
    _reshape_node(call, result, data, positions, f"Melt {melted} into rows{kept}")


def _reshape_node(call: OperatorCall, result: Any, data: Any, rows, description: str) -> None:
    call.run.add_node(T.RESHAPE, call.function, call.location, description, columns_of(result),
                      [call.run.input(data, call.location, rows)], result)


def crosstab(call: OperatorCall, result: Any) -> None:
    index, columns = call.arg(0, "index"), call.arg(1, "columns")
    index_parts = list(index) if isinstance(index, (list, tuple)) else [index]
    column_parts = list(columns) if isinstance(columns, (list, tuple)) else [columns]
    series = [s for s in index_parts + column_parts if isinstance(s, pd.Series)]
    values = call.kwargs.get("values")
    if isinstance(values, pd.Series):
        series.append(values)
    if not series:
        return
    first = series[0]
    same_rows = all(len(s) == len(first) and s.index.equals(first.index) for s in series[1:])
    if call.kwargs.get("margins"):
        rows = Unknown(f"{call.function}: margins=True adds rows that aggregate every group")
    elif not same_rows:
        rows = Unknown(f"{call.function}: its Series do not have the same rows")
    else:
        rows = grouped_by_keys(result, index_parts)
    inputs = [call.run.input(first, call.location, rows)]
    # The other Series have the same rows as the first: they add values, not rows.
    inputs += [call.run.input(s, call.location, rows=None) for s in series[1:]]
    names = [getattr(s, "name", None) for s in index_parts], [getattr(s, "name", None) for s in column_parts]
    call.run.add_node(T.GROUP_BY_AGG, call.function, call.location,
                      f"Cross tabulate {column_list(names[0])} x {column_list(names[1])}", keyed_columns(result),
                      inputs, result)


def value_counts(call: OperatorCall, result: Any) -> None:
    data = call.args[0]
    if isinstance(data, pd.Series):
        keys, counted = [data], [data.name]
        bins = call.arg(4, "bins")
    else:
        subset = call.arg(1, "subset")
        counted = list(data.columns) if subset is None else ([subset] if isinstance(subset, str) else list(subset))
        keys, bins = [data[c] for c in counted], None
    if bins is not None:
        rows = Unknown(f"{call.function}: bins={short_repr(bins)} counts intervals, not values")
    else:
        rows = grouped_by_keys(result, keys)
    source = call.run.input(data, call.location, rows)
    named = [c for c in counted if c is not None]
    what = "values of" if isinstance(data, pd.Series) else "rows by"
    call.run.add_node(T.GROUP_BY_AGG, call.function, call.location, f"Count {what} {column_list(counted)}",
                      keyed_columns(result), [source], result, derivations=_key_derivations(source.node, named))


# -- frame methods -----------------------------------------------------------------------------------

def set_index(call: OperatorCall, result: Any) -> None:
    frame, keys = call.args[0], call.arg(1, "keys")
    output = result if result is not None else frame
    named = _names(keys)
    inputs = [call.run.input(frame, call.location)]
    if named is None:
        arrays = keys if isinstance(keys, list) else [keys]
        inputs += [call.run.input(a, call.location, rows=None) for a in arrays if call.run.tracked(a) is not None]
    call.run.add_node(T.PROJECTION_MODIFY, call.function, call.location,
                      f"Set index {column_list(named) if named is not None else short_repr(keys)}",
                      columns_of(output), inputs, output)


def largest(call: OperatorCall, result: Any) -> None:
    data, n = call.args[0], call.arg(1, "n", 5)
    name = call.function.name.rsplit(".", 1)[-1]
    by = f" by {column_list(call.arg(2, 'columns'))}" if isinstance(data, pd.DataFrame) else ""
    which = "Largest" if name == "nlargest" else "Smallest"
    call.run.add_node(T.SELECTION, call.function, call.location, f"{which} {n} rows{by}", columns_of(result),
                      [call.run.input(data, call.location, positions_by_index(data, result, call))], result)


largest.prepare = keeping_labels


def take(call: OperatorCall, result: Any) -> None:
    data, indices = call.args[0], call.arg(1, "indices")
    if call.arg(2, "axis", 0) in (1, "columns"):
        _reshape_node(call, result, data, IDENTITY, f"Take columns {short_repr(indices)}")
        return
    positions = np.asarray(indices, dtype=np.int64)
    positions = np.where(positions < 0, positions + len(data), positions)
    call.run.add_node(T.SELECTION, call.function, call.location, f"Take rows {short_repr(indices)}",
                      columns_of(result), [call.run.input(data, call.location, Positions(positions))], result)


def frame_filter(call: OperatorCall, result: Any) -> None:
    """``df.filter(...)`` picks columns (the default for a frame) or, with ``axis=0``, rows by label."""
    data = call.args[0]
    axis = call.arg(4, "axis")
    chosen = call.arg(1, "items") or call.kwargs.get("like") or call.kwargs.get("regex")
    if isinstance(data, pd.DataFrame) and axis in (None, 1, "columns"):
        call.run.add_node(T.PROJECTION, call.function, call.location, f"Project columns matching {short_repr(chosen)}",
                          columns_of(result), [call.run.input(data, call.location)], result)
    else:
        call.run.add_node(T.SELECTION, call.function, call.location, f"Select rows labelled {short_repr(chosen)}",
                          columns_of(result), [call.run.input(data, call.location, rows_by_index(
                              data, result, str(call.function), "selects"))], result)


def set_columns(call: OperatorCall, frame: Any, keys: List, value: Any, verb: str, location=None) -> None:
    """``frame[keys] = value`` and ``insert``: the frame, changed in place, with new or replaced columns."""
    inputs = [call.run.input(frame, call.location)]
    expression = expression_of(call.run, value)
    if expression is not None:
        inputs += [Input(node, None, rows=None) for node in expression.parents]
        reads = sorted(expression.reads, key=str)
        derivations = {key: reads for key in keys}
        described = expression.text
    else:
        derivations = {key: [] for key in keys}
        if call.run.tracked(value) is not None or hasattr(value, "shape"):
            value_input = call.run.input(value, call.location, rows=None)
            inputs.append(value_input)
            # Column j of a frame value becomes key j.
            if isinstance(value, pd.DataFrame) and len(value.columns) == len(keys) and value_input.node is not None:
                derivations = {key: [(value_input.node, column)] for key, column in zip(keys, value.columns)}
            elif value_input.node is not None:
                derivations = {key: [(value_input.node, c) for c in value_input.node.columns] for key in keys}
        described = short_repr(value)
    what = f"column {keys[0]!r}" if len(keys) == 1 else f"columns {short_repr(keys)}"
    call.run.add_node(T.PROJECTION_MODIFY, call.function, location or call.location, f"{verb} {what}: {described}",
                      columns_of(frame), inputs, frame, derivations=derivations)


def store_in_place(call: OperatorCall, _: Any, obj: Any = None, indexer: str = "", augmented: Optional[str] = None,
                   shape: Optional[tuple] = None) -> None:
    """``df.loc[rows, columns] = value``, ``s[rows] = value``, ``df[column] += value`` & co. (``augmented``):
    ``obj`` changed in place, with the same rows (plus any a ``loc`` store added, ``shape`` being the one
    before). A written column now also reads the value, the key's masks and, unless every row of it was
    overwritten, its old values. ``indexer``: ``loc``, ``iloc``, ``at``, ``iat`` or empty (``obj[key]``).
    """
    run, (_, key, value) = call.run, call.args
    before = run.input_node(obj, call.location)
    parts = [value]
    if isinstance(obj, pd.DataFrame):
        rows, columns = _store_axes(obj, key, indexer)
        positions = np.arange(len(obj.columns))
        if columns is not None:
            labels = pd.Series(positions, index=obj.columns)
            positions = np.atleast_1d(labels.iloc[columns] if indexer in ("iloc", "iat") else labels.loc[columns])
            if getattr(columns, "dtype", None) == bool:
                parts.append(columns)
        written = [obj.columns[p] for p in positions]
        added = {obj.columns[p] for p in positions if shape is not None and p >= shape[1]}
    else:
        rows, written, added = key, list(before.columns), set()
    parts.append(rows)
    inputs = [Input(before, obj, _rows_after_store(call, obj, value, shape))]
    reads = [read for part in parts for read in _reads_of(call, part, inputs)]
    every_row = augmented is None and isinstance(rows, slice) and rows == slice(None)
    derivations = {column: ([] if every_row or column in added else [(before, column)]) + reads for column in written}
    keys = ", ".join(_described(call, part) for part in (key if isinstance(key, tuple) else (key,)))
    run.add_node(T.PROJECTION_MODIFY, call.function, call.location,
                 f"Set values {indexer}[{keys}] {augmented or '='} {_described(call, value)}", columns_of(obj),
                 inputs, obj, derivations=derivations)


def _store_axes(frame: pd.DataFrame, key: Any, indexer: str):
    """(row key, column key or None for every column) of a store into ``frame``."""
    if indexer:
        return key if isinstance(key, tuple) and len(key) == 2 else (key, None)
    # ``df[key]``: column labels, or (a mask, a slice) rows of every column
    labels = list(key) if isinstance(key, (list, pd.Index)) else [key]
    try:
        if all(label in frame.columns for label in labels):
            return slice(None), key
    except TypeError:  # unhashable: a mask
        pass
    return key, None


def _rows_after_store(call: OperatorCall, obj: Any, value: Any, shape: Optional[tuple]) -> Any:
    """The same rows, or those plus the rows a ``loc`` store appended (from no source row, if the value is not
    tracked data and no tracked row escaped to Python before; else unknown)."""
    if shape is None or len(obj) == shape[0]:
        return IDENTITY
    added = len(obj) - shape[0]
    if call.run.tracked(value) is not None or escapes_of(call.run):
        return Unknown(f"{added} row(s) appended by a store whose values may come from tracked rows, "
                       f"which lester-inspect does not link to their source rows")
    return Positions(np.concatenate([np.arange(shape[0]), np.full(added, -1)]))


def _reads_of(call: OperatorCall, part: Any, inputs: List[Input]) -> list:
    """The (node, column) pairs whose values ``part`` (a value or a key) carries; its nodes join ``inputs``."""
    expression = expression_of(call.run, part)
    if expression is not None:
        inputs += [Input(node, None, rows=None) for node in expression.parents]
        return sorted(expression.reads, key=str)
    if not hasattr(part, "shape") or call.run.tracked(part) is None:
        return []  # a constant, labels, or data made by code lester-inspect does not follow
    node = call.run.input_node(part, call.location, untracked_as_source=False)
    inputs.append(Input(node, None, rows=None))
    return [(node, column) for column in node.columns]


def _described(call: OperatorCall, part: Any) -> str:
    expression = expression_of(call.run, part)
    return expression.text if expression is not None else key_text(part)


def insert(call: OperatorCall, result: Any) -> None:
    frame, column, value = call.args[0], call.arg(2, "column"), call.arg(3, "value")
    set_columns(call, frame, [column], value, "Insert")


def pop(call: OperatorCall, result: Any) -> None:
    frame, item = call.args[0], call.arg(1, "item")
    base = call.run.input_node(frame, call.location)
    from lester_inspect.backends.series_expressions import column_expression

    track(call, result, column_expression(call, base, item), frame)
    call.run.add_node(T.PROJECTION, call.function, call.location, f"Pop column {item!r}", columns_of(frame),
                      [Input(base, frame)], frame)


def frame_eval(call: OperatorCall, result: Any) -> None:
    frame, expr = call.args[0], call.arg(1, "expr")
    base = call.run.input_node(frame, call.location)
    targets, reads = _eval_names(expr, frame)
    if isinstance(result, pd.Series):
        expression = SeriesExpression(str(expr), ATOM, base, (), call.location, call.function,
                                      reads=frozenset((base, c) for c in reads))
        track(call, result, expression, frame)
        return
    output = result if result is not None else frame
    if not isinstance(output, pd.DataFrame):
        return
    call.run.add_node(T.PROJECTION_MODIFY, call.function, call.location, f"Evaluate {expr}", columns_of(output),
                      [Input(base, frame)], output, derivations={t: [(base, c) for c in reads] for t in targets})


def _eval_names(expr: str, frame: pd.DataFrame):
    """Columns assigned and read by a ``DataFrame.eval`` expression (all columns read when it does not parse)."""
    targets, reads = [], set()
    try:
        tree = ast.parse(str(expr).replace("`", ""))
    except SyntaxError:
        return targets, list(frame.columns)
    for statement in tree.body:
        if isinstance(statement, ast.Assign):
            targets += [t.id for t in statement.targets if isinstance(t, ast.Name)]
            value = statement.value
        else:
            value = statement
        reads |= {n.id for n in ast.walk(value) if isinstance(n, ast.Name) and n.id in frame.columns}
    return targets, sorted(reads, key=str)


def combine_first(call: OperatorCall, result: Any) -> None:
    """Rows by label from both inputs; a row in both is made of both (a product, as in a join)."""
    left, other = call.args[0], call.arg(1, "other")
    inputs = [call.run.input(left, call.location, _label_positions(left, result)),
              call.run.input(other, call.location, _label_positions(other, result))]
    call.run.add_node(T.JOIN, call.function, call.location, "Combine first: values, else the other's, by row label",
                      columns_of(result), inputs, result)


def _label_positions(source: Any, output: Any):
    def positions():
        if not source.index.is_unique:
            return Unknown("the input's row index has duplicate labels")
        return Positions(source.index.get_indexer(output.index))

    return positions


def update(call: OperatorCall, result: Any) -> None:
    frame, other = call.args[0], call.arg(1, "other")
    inputs = [call.run.input(frame, call.location, Positions(np.arange(len(frame)))),
              call.run.input(other, call.location, _label_positions(other, frame))]
    call.run.add_node(T.JOIN, call.function, call.location, "Update values from another frame by row label",
                      columns_of(frame), inputs, frame)


# -- group-by -------------------------------------------------------------------------------------------

def _group_keys(grouped: Any) -> List:
    keys = grouped.keys
    if keys is None:
        keys = grouped.level
    if isinstance(keys, pd.Series):
        return [keys.name]
    return list(keys) if isinstance(keys, (list, tuple)) else [keys]


def _group_key_reads(call: OperatorCall, grouped: Any, base: DagNode) -> set:
    reads = set()
    keys = grouped.keys if isinstance(grouped.keys, list) else [grouped.keys]
    for key in keys:
        expression = expression_of(call.run, key) if isinstance(key, pd.Series) else None
        if expression is not None:
            reads |= expression.reads
        elif isinstance(key, str):
            reads.add((base, key))
    return reads


def group_map(call: OperatorCall, result: Any) -> None:
    """``transform``, ``rank``, ``cumsum``, ``shift`` ... of a group-by: each row keeps its place."""
    grouped = call.args[0]
    data = grouped.obj
    name = call.function.name.rsplit(".", 1)[-1]
    described = f"Group by {column_list(_group_keys(grouped))}: {describe_call(call)} per row"
    if isinstance(result, pd.Series):
        base = call.run.input_node(data, call.location)
        own = expression_of(call.run, data)
        reads = set(own.reads) if own is not None and isinstance(data, pd.Series) else {
            (base, c) for c in columns_of(data)}
        reads |= _group_key_reads(call, grouped, base)
        expression = SeriesExpression(f"{own.text if own is not None and isinstance(data, pd.Series) else 'rows'}"
                                      f" grouped by {column_list(_group_keys(grouped))}: {name}", ATOM, base, (),
                                      call.location, call.function, reads=frozenset(reads))
        if result.index.equals(data.index) and len(result) == len(data):
            track(call, result, expression, data)
            return
    if isinstance(result, (pd.DataFrame, pd.Series)):
        call.run.add_node(T.PROJECTION_MODIFY, call.function, call.location, described, columns_of(result),
                          [call.run.input(data, call.location, rows_by_index(data, result, str(call.function),
                                                                             "aligned"))], result)


def group_select(call: OperatorCall, result: Any) -> None:
    """``filter``, ``head``, ``tail``, ``nth``, ``sample`` of a group-by: some rows, with their labels."""
    grouped = call.args[0]
    data = grouped.obj
    if not isinstance(result, (pd.DataFrame, pd.Series)):
        return
    call.run.add_node(T.SELECTION, call.function, call.location,
                      f"Group by {column_list(_group_keys(grouped))}: {describe_call(call)}", columns_of(result),
                      [call.run.input(data, call.location, rows_by_index(data, result, str(call.function),
                                                                         "selects"))], result)


def group_apply(call: OperatorCall, result: Any) -> None:
    """``apply`` of a group-by: a transform, one row per group, or rows picked from each group."""
    grouped = call.args[0]
    data = grouped.obj
    if not isinstance(result, (pd.DataFrame, pd.Series)):
        return
    keys = _group_keys(grouped)
    rows = _apply_rows(grouped, data, result, str(call.function))
    operator_type = (T.GROUP_BY_AGG if isinstance(rows, Groups) else T.PROJECTION_MODIFY if rows is IDENTITY
                     else T.SELECTION if isinstance(rows, Positions) else T.RESHAPE)
    call.run.add_node(operator_type, call.function, call.location, f"Group by {column_list(keys)}: "
                      f"{describe_call(call)}", keyed_columns(result) if isinstance(rows, Groups) else
                      columns_of(result), [call.run.input(data, call.location, rows)], result)


def _apply_rows(grouped: Any, data: Any, result: Any, name: str):
    index = result.index
    if len(index) == len(data) and index.equals(data.index) and not isinstance(index, pd.RangeIndex):
        return IDENTITY
    groups = grouped.ngroups
    if len(result) == groups and (not isinstance(index, pd.RangeIndex) or grouped.as_index is False):
        codes = np.asarray(grouped.ngroup(), dtype=np.float64)
        return Groups(np.where(np.isnan(codes), -1, codes).astype(np.int64), groups)
    if isinstance(index, pd.MultiIndex) and index.nlevels > 1:
        labels = index.droplevel(list(range(index.nlevels - data.index.nlevels)))
        if data.index.is_unique and (data.index.get_indexer(labels) >= 0).all():
            return Positions(data.index.get_indexer(labels))
    if not isinstance(index, pd.RangeIndex) and data.index.is_unique:
        positions = data.index.get_indexer(index)
        if (positions >= 0).all():
            return Positions(positions)
    if len(index) == len(data) and isinstance(index, pd.RangeIndex) and isinstance(data.index, pd.RangeIndex):
        return IDENTITY if grouped.group_keys is False and _ordered_groups(grouped) else Unknown(
            f"{name}: the result's rows cannot be matched to the input's")
    return Unknown(f"{name}: the function's results are not rows, groups or a transform of the input")


def _ordered_groups(grouped: Any) -> bool:
    # A transform-like apply concatenates the groups' pieces in group order: that is the input
    # order only when each group's rows are contiguous and the groups come in input order.
    codes = np.asarray(grouped.ngroup())
    return bool(len(codes) == 0 or (np.diff(codes) >= 0).all())


# -- constructors and readers ---------------------------------------------------------------------------

def columns_from(call: OperatorCall, frame: pd.DataFrame, values: List[Any], description: str,
                 named: Optional[dict] = None) -> None:
    """A frame made of tracked columns: pandas aligns Series and frames by row label, arrays by position.

    Columns from rows that are not all in place make each output row the product of the
    rows it took values from, as in a join on the row labels. ``named`` (a dict given to
    the constructor) says which value each column is: a column of untracked values
    (``rng.normal(...)``, a list) reads no other column.
    """
    mappings = [IDENTITY if not isinstance(v, (pd.Series, pd.DataFrame)) or v.index.equals(frame.index)
                else positions_by_index(v, frame) for v in values]
    operator_type = T.PROJECTION_MODIFY
    if len(values) > 1 and any(m is not IDENTITY for m in mappings):
        operator_type = T.JOIN
        mappings = [Positions(np.arange(len(frame))) if m is IDENTITY else m for m in mappings]
    inputs = [call.run.input(v, call.location, m) for v, m in zip(values, mappings)]
    attributes = {}
    if named is not None:
        node_of = {id(v): item.node for v, item in zip(values, inputs)}
        attributes["derivations"] = {key: [(node_of[id(value)], column) for column in node_of[id(value)].columns]
                                     if id(value) in node_of else [] for key, value in named.items()}
    call.run.add_node(operator_type, call.function, call.location, description, columns_of(frame), inputs, frame,
                      **attributes)



def series_constructor(call: OperatorCall, result: Any) -> None:
    series, data, index = call.args[0], call.arg(1, "data"), call.arg(2, "index")
    tracked = call.run.tracked(data) is not None if data is not None else False
    if not tracked:
        from_python(call, series, f"Create Series from {type(data).__name__}", data)
        return
    if isinstance(data, pd.Series) and index is not None:
        rows = _label_positions(data, series)
    elif len(series) == len(data):
        rows = IDENTITY
    else:
        rows = Unknown(f"{call.function}: {len(series)} rows from {len(data)}")
    call.run.add_node(T.PROJECTION_MODIFY, call.function, call.location, f"Create Series from {type(data).__name__}",
                      columns_of(series), [call.run.input(data, call.location, rows)], series)


def frame_from(call: OperatorCall, result: Any) -> None:
    """``DataFrame.from_records`` / ``from_dict``: a source, or the rows of the tracked data given."""
    data = call.arg(1, "data")
    values = list(data.values()) if isinstance(data, dict) else [data]
    tracked = [v for v in values if call.run.tracked(v) is not None]
    name = call.function.name.rsplit(".", 1)[-1]
    if not tracked:
        from_python(call, result, f"Create DataFrame {name} {type(data).__name__}", data)
        return
    if call.kwargs.get("orient") in ("index", "tight"):
        call.run.add_node(T.RESHAPE, call.function, call.location, f"Create DataFrame {name} {type(data).__name__}",
                          columns_of(result), [call.run.input(v, call.location, Unknown(
                              f"{call.function}: orient={call.kwargs['orient']!r} turns columns into rows"))
                                               for v in tracked], result)
        return
    columns_from(call, result, tracked, f"Create DataFrame {name} {type(data).__name__}")


# -- resampling ---------------------------------------------------------------------------------------
# ``df.resample(rule)`` makes a resampler, not data; pandas gives it a copy of the frame, so what the
# user's tracked object is, and which bins its rows fall into, is remembered here per resampler.

class Resampling:
    """A tracked object resampled with ``args``/``kwargs``, and the column selection made on the resampler."""

    __slots__ = ("source", "args", "kwargs", "selection")

    def __init__(self, source: Any, args: tuple, kwargs: dict, selection: Any = None):
        self.source = source
        self.args = args
        self.kwargs = kwargs
        self.selection = selection

    def describe(self) -> str:
        parts = [short_repr(a) for a in self.args] + [f"{k}={short_repr(v)}" for k, v in self.kwargs.items()]
        picked = f"[{short_repr(self.selection)}]" if self.selection is not None else ""
        return f"Resample({', '.join(parts)}){picked}"

    def groups(self, result: Any):
        """Output row g aggregates the source rows in bin g: the same bins, computed for row numbers."""
        source, on, level = self.source, self.kwargs.get("on"), self.kwargs.get("level")
        key = source[on] if on is not None else (
            source.index.get_level_values(level) if level is not None else source.index)
        binning = {name: value for name, value in self.kwargs.items() if name not in ("on", "level")}
        rows = pd.Series(np.arange(len(source)), index=pd.Index(key)).resample(*self.args, **binning).agg(list)
        if not rows.index.equals(result.index):
            return Unknown("the result's rows are not the resampling bins (e.g. a filtered or reindexed "
                           "aggregation)")
        codes = np.full(len(source), -1, dtype=np.int64)
        for group, members in enumerate(rows):
            codes[np.asarray(members, dtype=np.int64)] = group
        return Groups(codes, len(result))


_RESAMPLINGS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _remember(run, resampler: Any, resampling: Resampling) -> None:
    try:
        _RESAMPLINGS.setdefault(run, weakref.WeakKeyDictionary())[resampler] = resampling
    except TypeError:  # not weakly referenceable: its aggregations stay what the generic rule makes of them
        pass


def resampling_of(run, obj: Any) -> Optional[Resampling]:
    try:
        return _RESAMPLINGS.get(run, {}).get(obj)
    except TypeError:
        return None


def resample(call: OperatorCall, result: Any) -> None:
    source = call.args[0]
    if call.run.tracked(source) is not None:
        _remember(call.run, result, Resampling(source, call.args[1:], dict(call.kwargs)))


def resampler_getitem(call: OperatorCall, result: Any) -> None:
    """``df.resample(...)["v"]`` (a group-by over bins in pandas): the same rows, a column selection."""
    resampling = resampling_of(call.run, call.args[0])
    if resampling is not None:
        _remember(call.run, result, Resampling(resampling.source, resampling.args, resampling.kwargs, call.args[1]))


def resample_aggregate(call: OperatorCall, result: Any) -> bool:
    """An aggregation of a resampler: one row per bin, made of the source rows in it. False: not one."""
    resampling = resampling_of(call.run, call.args[0])
    if resampling is None:
        return False
    if isinstance(result, (pd.DataFrame, pd.Series)):
        source = call.run.input(resampling.source, call.location, lambda: resampling.groups(result))
        call.run.add_node(T.GROUP_BY_AGG, call.function, call.location,
                          f"{resampling.describe()}: {describe_call(call)}", keyed_columns(result), [source], result)
    return True


def resampled_rows(call: OperatorCall, result: Any) -> None:
    """Up-sampling and row-wise calls on a resampler (``ffill``, ``interpolate``, ``apply``, ...): rows that are
    not bins of source rows, an explicit unknown."""
    resampling = resampling_of(call.run, call.args[0])
    if resampling is None or not isinstance(result, (pd.DataFrame, pd.Series)):
        return
    reason = f"rows made by {describe_call(call)} of a resampling are not mapped to its source's rows"
    call.run.add_node(T.RESHAPE, call.function, call.location, f"{resampling.describe()}: {describe_call(call)}",
                      keyed_columns(result), [call.run.input(resampling.source, call.location, Unknown(reason))],
                      result)
