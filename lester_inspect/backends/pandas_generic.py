"""The generic rule for pandas calls without a handler of their own, and Python-loop escapes.

Every public method of the classes in ``GENERIC_CLASSES`` and every public pandas
function is patched. A call on tracked data without a specific handler is handled
here, declaratively: the method's name says whether pandas keeps the input's row
labels (``ALIGNED``), picks rows by label (``SELECTS``) or neither; the result's
index then gives the row mapping. Where it does not, the mapping is
``Unknown`` with the call named, and the node is made only when the result is used
as data (a ``df.describe()`` that is printed cuts nothing).

Escapes: tracked rows that user code turns into Python objects (``iterrows``,
``tolist``, iteration ...) are remembered per run; a frame later built from Python
objects gets an input from the escaped data with an ``Unknown`` mapping naming the
escape, instead of passing for a fresh data source.
"""
from __future__ import annotations

import ast
import weakref
from typing import Any, Callable, List, Optional

import numpy as np
import pandas as pd

from lester_inspect.backends.formatting import short_repr
from lester_inspect.instrumentation.dag import DagNode, OperatorType
from lester_inspect.instrumentation.rows import (IDENTITY, NOT_COMPUTED, Input, Positions, Unknown, increasing_labels,
                                                positions_of_labels)
from lester_inspect.instrumentation.run import OperatorCall
from lester_inspect.instrumentation.tracking import Tracked

T = OperatorType

#: Methods whose result has the input's rows in the input's order, by pandas' contract.
ALIGNED = frozenset("""
    abs add sub subtract mul multiply div divide truediv floordiv mod pow radd rsub rmul rdiv rtruediv
    rfloordiv rmod rpow eq ne lt le gt ge round clip where mask isna isnull notna notnull fillna ffill bfill
    interpolate replace astype convert_dtypes infer_objects copy shift diff pct_change cumsum cumprod cummax
    cummin rank isin between map transform combine to_frame add_prefix add_suffix set_axis rename_axis
    set_flags tz_convert tz_localize squeeze select_dtypes case_when
    __add__ __radd__ __sub__ __rsub__ __mul__ __rmul__ __truediv__ __rtruediv__ __floordiv__
    __rfloordiv__ __mod__ __rmod__ __pow__ __rpow__ __eq__ __ne__ __lt__ __le__ __gt__ __ge__
    __and__ __rand__ __or__ __ror__ __xor__ __rxor__ __invert__ __neg__ __abs__
""".split())
#: Methods whose result rows are input rows picked (or reordered) by their labels.
SELECTS = frozenset("reindex truncate xs between_time at_time asfreq first last nlargest nsmallest "
                    "sort_index head tail sample nth filter".split())
#: Reductions: one output row per column or group, made from many input rows.
REDUCTIONS = frozenset("""
    sum mean median min max std var sem skew kurt kurtosis prod product count nunique quantile describe
    corr cov corrwith mode idxmax idxmin any all agg aggregate value_counts memory_usage
""".split())
#: Never patched: writers and displays (no data out), ``pipe`` (the user function's own calls
#: must stay visible), and conversions handled as escapes or aliases elsewhere.
NOT_OPERATORS = frozenset("""
    to_csv to_parquet to_excel to_json to_pickle to_sql to_hdf to_feather to_stata to_html to_latex
    to_markdown to_string to_clipboard to_xml to_orc info plot hist boxplot pipe keys equals bool item
    first_valid_index last_valid_index get_option set_option reset_option describe_option option_context
    show_versions test set_eng_float_format to_pickle groupby rolling expanding ewm resample
""".split())
#: Arithmetic and comparison operators of DataFrame (Series' are expressions).
FRAME_OPERATORS = tuple(name for name in ALIGNED if name.startswith("__"))
#: Turning rows into Python objects.
ESCAPES = ("iterrows", "itertuples", "items", "to_dict", "tolist", "to_list", "__iter__")


def data_of(receiver: Any) -> Any:
    """The frame or Series a method works on: the receiver, a group-by's or window's object, an accessor's Series."""
    if isinstance(receiver, (pd.DataFrame, pd.Series)):
        return receiver
    for attribute in ("obj", "_parent", "_data"):
        value = getattr(receiver, attribute, None)
        if isinstance(value, (pd.DataFrame, pd.Series)):
            return value
    return None


def rows_by_index(source: Any, output: Any, call_name: str, kind: str = ""):
    """A thunk for how ``output``'s rows relate to ``source``'s, read from the row labels.

    ``kind`` is ``"aligned"`` (pandas keeps the rows and their order), ``"selects"``
    (pandas picks rows by label; labels it does not find map to no row) or ``""``
    (nothing known: only labels that cannot be freshly made, i.e. not a default
    RangeIndex, count as evidence).
    """

    def mapping():
        source_index, output_index = source.index, output.index
        fresh = isinstance(output_index, pd.RangeIndex) and kind != "aligned"
        if len(source_index) == len(output_index) and not fresh and output_index.equals(source_index):
            return IDENTITY
        if kind == "aligned":
            return Unknown(f"{call_name}: the result does not have the input's row labels")
        if kind == "selects" or not fresh:
            if not source_index.is_unique:
                return Unknown(f"{call_name}: the input's row index has duplicate labels")
            positions = source_index.get_indexer(output_index)
            if kind == "selects" or (positions >= 0).all():
                return Positions(positions)
        return Unknown(f"{call_name}: the result's rows are not the input's rows (new row labels)")

    return mapping


def positions_by_index(source: Any, output: Any, call: Optional[OperatorCall] = None, keeps_order: bool = False,
                       picks_rows: bool = False):
    """A thunk for the input positions of ``output``'s rows, found through the row labels.

    For ``inplace=True`` and ``ignore_index=True`` the labels are gone after the call;
    ``keeping_labels`` (the handler's ``prepare`` step) kept them in ``call.extra``.
    ``picks_rows``: the operation only picks, reorders or repeats the input's rows, so
    every output label is an input label. ``keeps_order`` (it only drops rows, as
    ``dropna``): a result as long as its input has every row in place, the identity.
    """

    def positions():
        source_index, labels = source.index, output.index
        if call is not None and isinstance(call.extra, Positions):
            return call.extra
        if call is not None and not call.run.tracks_rows and _prepare_maps(call):
            return NOT_COMPUTED
        if call is not None and (call.kwargs.get("inplace") or call.kwargs.get("ignore_index")):
            if call.extra is None:
                return Unknown(f"{call.function}: inplace=True or ignore_index=True replaces the row labels, "
                               "and no row-level inspection kept them")
            source_index, labels = call.extra
        if keeps_order and len(labels) == len(source_index):
            return IDENTITY
        return positions_of_labels(source_index, labels, subset=picks_rows)

    def may_be_unknown():  # only duplicate labels make ``positions_of_labels`` unknown
        if keeps_order and len(output.index) == len(source.index):
            return False
        return not _unique_labels(source.index) and not (call is not None and _prepare_maps(call))

    positions.may_be_unknown = may_be_unknown
    return positions


def keeping_labels(call: OperatorCall):
    """A ``prepare`` step: keep the input's row labels (``inplace``) and the result's (``ignore_index``).

    Labels do not tell duplicate-labelled rows apart: for a frame with such an index a
    hidden row-id column rides through the call instead (as for joins).
    """
    receiver, ignore, inplace = call.args[0], call.kwargs.get("ignore_index"), call.kwargs.get("inplace")
    if _needs_row_ids(call):
        return _with_row_id_column(call)
    if not ignore and not inplace:  # both objects keep their labels: nothing to keep
        return call.args, call.kwargs, _unchanged
    before = receiver.index
    kwargs = dict(call.kwargs, ignore_index=False) if ignore else call.kwargs

    def finish(result):
        labels = (result if result is not None else receiver).index
        if ignore and result is not None:
            result = result.reset_index(drop=True)
        elif ignore:
            receiver.reset_index(drop=True, inplace=True)
        return result, (before, labels)

    return call.args, kwargs, finish


def _needs_row_ids(call: OperatorCall) -> bool:
    """A frame whose row labels do not tell its rows apart (the call did not change them in place)."""
    receiver = call.args[0]
    return isinstance(receiver, pd.DataFrame) and not call.kwargs.get("inplace") and not _unique_labels(
        receiver.index)


def _prepare_maps(call: OperatorCall) -> bool:
    """Whether ``keeping_labels`` (skipped by a run that tracks no rows) would give the row mapping: by
    hidden row ids, or by keeping the labels ``inplace``/``ignore_index`` replace."""
    if _needs_row_ids(call):
        return _row_ids_safe(call)
    return bool(call.kwargs.get("ignore_index") or call.kwargs.get("inplace"))


def _row_ids_safe(call: OperatorCall) -> bool:
    method = call.function.name.rsplit(".", 1)[-1]
    return method in _ROW_ID_SAFE and not (method == "dropna" and call.kwargs.get("axis", 0) not in (0, "index"))


def _unchanged(result):
    return result, None


def _unique_labels(index: pd.Index) -> bool:
    """``index.is_unique``, answered without building a hash table for the labels a default index
    leaves after selections (increasing integers): a loop of small pandas calls asks it every time."""
    if isinstance(index, pd.RangeIndex):
        return True
    if index.dtype.kind in "iu" and increasing_labels(index):
        return True
    return index.is_unique


def _with_row_id_column(call: OperatorCall):
    receiver, method = call.args[0], call.function.name.rsplit(".", 1)[-1]
    if not _row_ids_safe(call):
        return call.args, call.kwargs, _unchanged
    name = f"__lester_row_id_{id(call)}"
    marked = receiver.assign(**{name: np.arange(len(receiver), dtype=np.int64)})
    args, kwargs = (marked, *call.args[1:]), dict(call.kwargs)
    if method in ("dropna", "drop_duplicates") and call.arg(1, "subset") is None:
        # Missing values and duplicates are judged on the user's columns, not on the row ids.
        kwargs["subset"] = list(receiver.columns)
        args = args[:1]

    def finish(result):
        return result.drop(columns=[name]), Positions(result[name].to_numpy(dtype=np.int64))

    return args, kwargs, finish


# Row-picking methods whose result does not change when a column is added (given ``subset``).
_ROW_ID_SAFE = frozenset({"sort_index", "sort_values", "dropna", "drop_duplicates", "sample", "head", "tail",
                          "explode", "query", "nlargest", "nsmallest"})


class PendingCall:
    """The result of a call whose rows are unknown (or that of one), made a node only if it is used as data.

    ``df.describe().round(2)`` that is printed leaves no node and no cut behind.
    """

    __slots__ = ("call_function", "location", "description", "operator_type", "source_node", "source", "rows")

    def __init__(self, call: OperatorCall, description: str, operator_type: OperatorType, source_node: DagNode,
                 source: Any, rows):
        self.call_function = call.function
        self.location = call.location
        self.description = description
        self.operator_type = operator_type
        self.source_node = source_node
        # The input itself only where its node is still pending (then it is needed to make it).
        self.source = source
        self.rows = rows

    def materialize(self, run, obj: Any) -> DagNode:
        node = self.source_node
        if node is None:
            node = run.input_node(self.source, self.location)
        self.source = None
        return run.add_node(self.operator_type, self.call_function, self.location, self.description,
                            columns_of(obj), [Input(node, None, self.rows)], obj)


def columns_of(obj: Any) -> list:
    if isinstance(obj, pd.DataFrame):
        return list(obj.columns)
    if isinstance(obj, pd.Series):
        return [obj.name]
    return []


def is_pending_call(tracked: Optional[Tracked]) -> bool:
    return tracked is not None and isinstance(tracked.expression, PendingCall)


def describe_call(call: OperatorCall, first: int = 1) -> str:
    name = call.function.name.rsplit(".", 1)[-1]
    if name in _OPERATOR_SYMBOLS:  # ``df[cols] * 2`` reads as "* 2"
        return " ".join([_OPERATOR_SYMBOLS[name], *(short_repr(a) for a in call.args[1:2])])
    parts = [short_repr(a) for a in call.args[first:]]
    parts += [f"{k}={short_repr(v)}" for k, v in call.kwargs.items()]
    return f"{name}({', '.join(parts)})"


_OPERATOR_SYMBOLS = {"__add__": "+", "__radd__": "+ (reflected)", "__sub__": "-", "__rsub__": "- (reflected)",
                     "__mul__": "*", "__rmul__": "*", "__truediv__": "/", "__rtruediv__": "/ (reflected)",
                     "__floordiv__": "//", "__rfloordiv__": "// (reflected)", "__mod__": "%",
                     "__rmod__": "% (reflected)", "__pow__": "**", "__rpow__": "** (reflected)", "__eq__": "==",
                     "__ne__": "!=", "__lt__": "<", "__le__": "<=", "__gt__": ">", "__ge__": ">=", "__and__": "&",
                     "__rand__": "&", "__or__": "|", "__ror__": "|", "__xor__": "^", "__rxor__": "^",
                     "__invert__": "~", "__neg__": "-", "__abs__": "abs"}


def window_map(call: OperatorCall, result: Any) -> None:
    """``s.rolling(3).mean()`` and other window functions: one value per input row, in place."""
    if not isinstance(result, (pd.DataFrame, pd.Series)):
        return
    source = data_of(call.args[0])
    if source is None or call.run.tracked(source) is None:
        return
    window = type(call.args[0]).__name__
    call.run.add_node(T.PROJECTION_MODIFY, call.function, call.location, f"{window} window: {describe_call(call)}",
                      columns_of(result), [call.run.input(source, call.location, rows_by_index(
                          source, result, str(call.function), "aligned"))], result)


def window_classes() -> tuple:
    from pandas.core.window.ewm import ExponentialMovingWindow
    from pandas.core.window.expanding import Expanding
    from pandas.core.window.rolling import Rolling, Window

    return (Rolling, Window, Expanding, ExponentialMovingWindow)


def generic(call: OperatorCall, result: Any) -> None:
    """The rule for a method without a handler: a node whose rows come from the index, or unknown."""
    output = result if result is not None or not call.kwargs.get("inplace") else call.args[0]
    if not isinstance(output, (pd.DataFrame, pd.Series)):
        return
    source = data_of(call.args[0])
    if source is None or call.run.tracked(source) is None:
        return
    name = call.function.name.rsplit(".", 1)[-1]
    kind = "aligned" if name in ALIGNED else "selects" if name in SELECTS else ""
    if call.kwargs.get("ignore_index"):
        kind = "ignore"
    description = describe_call(call)
    if kind != "ignore":
        mapping = rows_by_index(source, output, str(call.function), kind)()
    else:
        mapping = Unknown(f"{call.function}: ignore_index=True drops the row labels")
    operator_type = (T.GROUP_BY_AGG if name in REDUCTIONS else T.RESHAPE) if isinstance(mapping, Unknown) else (
        T.PROJECTION_MODIFY if mapping is IDENTITY else T.SELECTION)
    if isinstance(mapping, Unknown) or is_pending_call(call.run.tracked(source)):
        defer(call, output, source, description, operator_type, mapping)
        return
    call.run.add_node(operator_type, call.function, call.location, description, columns_of(output),
                      [call.run.input(source, call.location, mapping)], output)


def defer(call: OperatorCall, output: Any, source: Any, description: str, operator_type: OperatorType,
          rows) -> None:
    """Remember ``output`` as the pending product of ``call`` with input ``source`` and row mapping ``rows``."""
    tracked = call.run.tracked(source)
    node = tracked.node if tracked is not None else None
    pending = PendingCall(call, description, operator_type, node, source if node is None else None, rows)
    call.run.objects.set(output, Tracked(expression=pending))


# -- functions: pd.X(...) --------------------------------------------------------------------------

def generic_function(call: OperatorCall, result: Any) -> None:
    """A pandas function without a handler: rows from the first tracked data argument's index."""
    if not isinstance(result, (pd.DataFrame, pd.Series)):
        return
    values = list(call.args) + list(call.kwargs.values())
    tracked = [v for v in values if isinstance(v, (pd.DataFrame, pd.Series)) and call.run.tracked(v) is not None]
    description = describe_call(call, first=0)
    if not tracked:
        from_python(call, result, description)
        return
    name = call.function.name
    mapping = rows_by_index(tracked[0], result, str(call.function), "aligned" if name in ALIGNED else "")()
    if isinstance(mapping, Unknown) or is_pending_call(call.run.tracked(tracked[0])):
        defer(call, result, tracked[0], description, T.RESHAPE, mapping)
        return
    inputs = [call.run.input(tracked[0], call.location, mapping)]
    inputs += [call.run.input(v, call.location, rows=None) for v in tracked[1:]]
    call.run.add_node(T.PROJECTION_MODIFY if mapping is IDENTITY else T.SELECTION, call.function, call.location,
                      description, columns_of(result), inputs, result)


# -- Python-loop escapes ----------------------------------------------------------------------------

class Escape:
    __slots__ = ("node", "how", "location")

    def __init__(self, node: DagNode, how: str, location):
        self.node = node
        self.how = how
        self.location = location

    def __str__(self) -> str:
        return f"{self.how} of node {self.node.node_id} ({self.node.description}) at {self.location}"


_ESCAPES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_ESCAPES_NAMED = 3


def escape(call: OperatorCall, result: Any) -> None:
    """Tracked rows became Python objects: remember where, for frames later built from Python objects."""
    receiver = call.args[0]
    tracked = call.run.tracked(receiver)
    if tracked is None:
        return
    node = tracked.node
    if node is None and tracked.expression is not None:
        node = getattr(tracked.expression, "base", None) or getattr(tracked.expression, "source_node", None)
    if node is None:
        return
    escapes = _ESCAPES.setdefault(call.run, [])
    how = call.function.name.rsplit(".", 1)[-1]
    if escapes and escapes[-1].node is node and escapes[-1].how == how and escapes[-1].location == call.location:
        return  # the same loop again
    escapes.append(Escape(node, "iteration" if how == "__iter__" else how, call.location))


def escapes_of(run) -> List[Escape]:
    return _ESCAPES.get(run, [])


def from_python(call: OperatorCall, output: Any, description: str, data: Any = None) -> DagNode:
    """A frame made from Python objects: a data source, unless tracked rows escaped to Python before."""
    escapes = escapes_of(call.run)
    if not escapes or (data is not None and not _is_python_data(data)) or _written_out(call):
        return call.run.add_node(T.DATA_SOURCE, call.function, call.location, description, columns_of(output),
                                 [], output)
    named = "; ".join(str(e) for e in escapes[-_ESCAPES_NAMED:])
    more = f" (and {len(escapes) - _ESCAPES_NAMED} earlier)" if len(escapes) > _ESCAPES_NAMED else ""
    reason = (f"{call.function} at {call.location}: built from Python objects after tracked rows escaped "
              f"to Python: {named}{more}")
    nodes = []
    for item in escapes:
        if item.node not in nodes:
            nodes.append(item.node)
    return call.run.add_node(T.DATA_SOURCE, call.function, call.location,
                             f"{description} (possibly from escaped rows)", columns_of(output),
                             [Input(node, None, Unknown(reason)) for node in nodes], output)


def _written_out(call: OperatorCall) -> bool:
    """Whether the call's data is written out in the source from constants (``pd.DataFrame({"a": [1, 2]})``,
    ``{"k": range(3)}``), so none of it can come from rows that escaped to Python."""
    source = call.run.call_sites.source_for(call.location) if call.location is not None else None
    if source is None:
        return False
    try:
        expression = ast.parse(source.segment(call.location).strip(), mode="eval").body
    except SyntaxError:
        return False
    if not isinstance(expression, ast.Call):
        return False
    arguments = [*expression.args, *(k.value for k in expression.keywords if k.arg != "columns")]
    if None in (k.arg for k in expression.keywords):
        return False
    return all(_constant(argument, source) for argument in arguments)


# Builtins whose result holds no row's values when their arguments are constants (``len``: any argument,
# a count is not a row); ``list`` makes a mutable value.
_CONSTANT_CALLS = {"range": True, "tuple": True, "len": True, "list": False}


def _constant(node: ast.AST, source, immutable: bool = False, depth: int = 0) -> bool:
    """Whether ``node`` is computed from constants only: literals, containers and arithmetic of them,
    ``range(...)``, ``len(...)``, and names the source binds once, to an immutable such value (a list
    bound once may still be appended to)."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.List, ast.Tuple, ast.Set, ast.Dict)):
        if immutable and not isinstance(node, ast.Tuple) or isinstance(node, ast.Dict) and None in node.keys:
            return False
        parts = (*node.keys, *node.values) if isinstance(node, ast.Dict) else node.elts
        return all(_constant(part, source, immutable, depth) for part in parts)
    if isinstance(node, ast.UnaryOp):
        return _constant(node.operand, source, immutable, depth)
    if isinstance(node, ast.BinOp):
        return _constant(node.left, source, immutable, depth) and _constant(node.right, source, immutable, depth)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _CONSTANT_CALLS:
        if node.keywords or source.binding(node.func.id)[0] or immutable and not _CONSTANT_CALLS[node.func.id]:
            return False  # a user's own ``range`` is not the builtin
        return node.func.id == "len" or all(_constant(argument, source, immutable, depth) for argument in node.args)
    if isinstance(node, ast.Name) and depth < 10:
        value = source.binding(node.id)[1]
        return value is not None and _constant(value, source, True, depth + 1)
    return False


def _is_python_data(data: Any) -> bool:
    """Python containers (rows built in a loop), as opposed to arrays made by a library."""
    if isinstance(data, (list, tuple, dict)):
        return True
    return hasattr(data, "__next__")


def wrap_classmethod(run, descriptor: classmethod, handler: Callable) -> classmethod:
    return classmethod(run.wrap(descriptor.__func__, handler))


def positions_of(frame_index: pd.Index, labels: Any):
    if not frame_index.is_unique:
        return Unknown("the input's row index has duplicate labels")
    return Positions(frame_index.get_indexer(labels))


def tile_positions(length: int, repeats: int) -> Positions:
    return Positions(np.tile(np.arange(length, dtype=np.int64), repeats))
