"""Series computed by user code from frame columns: ``df['a'] > 3``, ``df['s'].str.lower()``.

They do not become nodes of their own. They are remembered as *pending*
expressions over the frame they were taken from and

* give selections and new columns their description (``Select: county isin [...]``),
* become one node (a projection, or a modifying projection for a computed Series)
  only when they flow into another operator as data, e.g. as labels into ``fit``.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple

import pandas as pd

from lester_inspect.backends.formatting import short_repr
from lester_inspect.instrumentation.dag import CodeLocation, DagNode, FunctionInfo, OperatorType
from lester_inspect.instrumentation.rows import Input
from lester_inspect.instrumentation.run import InstrumentedRun, OperatorCall
from lester_inspect.instrumentation.tracking import Tracked

ATOM = 9
# Display precedence of the operators (higher binds tighter), used to parenthesise.
_BINARY = {
    "__or__": ("|", 1), "__ror__": ("|", 1), "__xor__": ("^", 2), "__rxor__": ("^", 2),
    "__and__": ("&", 2), "__rand__": ("&", 2),
    "__eq__": ("==", 3), "__ne__": ("!=", 3), "__lt__": ("<", 3), "__le__": ("<=", 3),
    "__gt__": (">", 3), "__ge__": (">=", 3),
    "__add__": ("+", 4), "__radd__": ("+", 4), "__sub__": ("-", 4), "__rsub__": ("-", 4),
    "__mul__": ("*", 5), "__rmul__": ("*", 5), "__truediv__": ("/", 5), "__rtruediv__": ("/", 5),
    "__floordiv__": ("//", 5), "__rfloordiv__": ("//", 5), "__mod__": ("%", 5), "__rmod__": ("%", 5),
    "__pow__": ("**", 6), "__rpow__": ("**", 6),
}
_UNARY = {"__invert__": "~", "__neg__": "-"}
_METHODS = ("isin", "apply", "map", "fillna", "astype", "replace", "isna", "notna", "isnull",
            "notnull", "between", "abs", "round", "clip", "where", "mask", "duplicated")
_STRING_METHODS = ("lower", "upper", "strip", "lstrip", "rstrip", "len", "contains", "startswith",
                  "endswith", "replace", "slice", "get", "split", "title", "capitalize", "match",
                  "extract", "count", "find", "zfill", "pad", "cat", "isdigit", "isnumeric", "isalpha",
                  "rsplit", "partition", "get_dummies", "fullmatch", "removeprefix", "removesuffix")
_DATETIME_METHODS = ("strftime", "floor", "ceil", "round", "normalize", "day_name", "month_name", "to_period",
                     "tz_localize", "tz_convert", "isocalendar", "total_seconds")
#: pandas functions of one Series that return a Series with its rows: ``pd.cut(df['age'], bins)``.
FUNCTIONS = ("cut", "qcut", "to_datetime", "to_numeric", "to_timedelta")


class SeriesExpression:
    """A Series computed row by row from the rows of ``base`` (the node of its frame)."""

    __slots__ = ("text", "precedence", "base", "others", "location", "function", "is_column", "reads")

    def __init__(self, text: str, precedence: int, base: DagNode, others: Tuple[DagNode, ...],
                 location: CodeLocation, function: FunctionInfo, is_column: bool = False,
                 reads: frozenset = frozenset()):
        self.text = text
        self.precedence = precedence
        self.base = base
        self.others = others
        self.location = location
        self.function = function
        self.is_column = is_column
        #: The (node, column) pairs whose values the Series is computed from (column provenance).
        self.reads = reads

    @property
    def parents(self) -> Tuple[DagNode, ...]:
        return (self.base, *self.others)

    def inputs(self, series: Any) -> list:
        """The base's rows flow into the Series; other frames only contribute values."""
        return [Input(self.base, series), *(Input(node, None, rows=None) for node in self.others)]

    def materialize(self, run: InstrumentedRun, series: Any) -> DagNode:
        name = getattr(series, "name", None)
        if name is None and self.is_column and len(self.reads) == 1:  # an array taken from the column
            name = next(iter(self.reads))[1]
        if self.is_column:
            return run.add_node(OperatorType.PROJECTION, self.function, self.location,
                                f"Project: {short_repr([name])}", [name], self.inputs(series),
                                derivations={name: sorted(self.reads, key=str)})
        column = name if name is not None else self.text
        return run.add_node(OperatorType.PROJECTION_MODIFY, self.function, self.location,
                            f"Compute: {self.text}", [column], self.inputs(series),
                            derivations={column: sorted(self.reads, key=str)})


def expression_of(run: InstrumentedRun, value: Any) -> Optional[SeriesExpression]:
    """The expression a tracked Series stands for (a node's Series counts as its column)."""
    tracked = run.tracked(value)
    if tracked is None:
        return None
    if tracked.expression is not None:
        # A pending call of unknown rows (pandas_generic.PendingCall) is data, not an expression.
        return tracked.expression if isinstance(tracked.expression, SeriesExpression) else None
    if isinstance(value, pd.Series) and tracked.node is not None:
        name = value.name if value.name is not None else "series"
        return SeriesExpression(str(name), ATOM, tracked.node, (), tracked.node.code_location,
                                tracked.node.function, is_column=True, reads=frozenset({(tracked.node, value.name)}))
    return None


def column_expression(call: OperatorCall, frame_node: DagNode, column: Any) -> SeriesExpression:
    return SeriesExpression(str(column), ATOM, frame_node, (), call.location, call.function, is_column=True,
                            reads=frozenset({(frame_node, column)}))


def _render(run: InstrumentedRun, value: Any) -> Tuple[str, int, Optional[SeriesExpression]]:
    expression = expression_of(run, value)
    if expression is not None:
        return expression.text, expression.precedence, expression
    return short_repr(value), ATOM, None


def _combine(call: OperatorCall, text: str, precedence: int, operands) -> Optional[SeriesExpression]:
    expressions = [e for e in operands if e is not None]
    if not expressions:
        return None
    base = expressions[0].base
    others = []
    for expression in expressions:
        for node in expression.parents:
            if node is not base and node not in others:
                others.append(node)
    reads = frozenset().union(*(expression.reads for expression in expressions))
    return SeriesExpression(text, precedence, base, tuple(others), call.location, call.function, reads=reads)


def track(call: OperatorCall, result: Any, expression: Optional[SeriesExpression], rows_of: Any) -> None:
    """Remember ``result`` as pending ``expression``, with the annotations of ``rows_of``, whose rows it has."""
    if expression is not None and isinstance(result, pd.Series):
        source = call.run.tracked(rows_of)
        annotations = source.annotations if source is not None else None
        call.run.objects.set(result, Tracked(expression=expression, annotations=annotations))


def binary_handler(dunder: str):
    symbol, precedence = _BINARY[dunder]
    reflected = dunder.startswith("__r") and dunder not in ("__rshift__",)

    def handle(call: OperatorCall, result: Any) -> None:
        run = call.run
        left, right = call.args[0], call.arg(1, "other")
        if reflected:
            left, right = right, left
        left_text, left_precedence, left_expression = _render(run, left)
        right_text, right_precedence, right_expression = _render(run, right)
        if left_precedence < precedence:
            left_text = f"({left_text})"
        if right_precedence <= precedence and right_precedence != ATOM:
            right_text = f"({right_text})"
        track(call, result, _combine(call, f"{left_text} {symbol} {right_text}", precedence,
                                     (left_expression, right_expression)),
              left if left_expression is not None else right)

    return handle


def unary_handler(dunder: str):
    symbol = _UNARY[dunder]

    def handle(call: OperatorCall, result: Any) -> None:
        text, precedence, expression = _render(call.run, call.args[0])
        if precedence < ATOM:
            text = f"({text})"
        track(call, result, _combine(call, f"{symbol}{text}", 7, (expression,)), call.args[0])

    return handle


def method_handler(name: str, accessor: str = ""):
    """``s.isin([...])`` reads as ``s isin [...]``; other methods as ``s.name(args)``."""

    def handle(call: OperatorCall, result: Any) -> None:
        receiver = call.args[0]
        series = _accessor_series(receiver) if accessor else receiver
        text, precedence, expression = _render(call.run, series)
        if expression is None:
            return
        if isinstance(result, pd.DataFrame):  # ``.str.split(expand=True)``: one column per part
            _expanded(call, result, series, expression, f"{text}{accessor}.{name}")
            return
        arguments = [short_repr(a) for a in call.args[1:]]
        arguments += [f"{k}={short_repr(v)}" for k, v in call.kwargs.items()]
        if name == "isin":
            if precedence < ATOM:
                text = f"({text})"
            track(call, result, _combine(call, f"{text} isin {', '.join(arguments)}", 3, (expression,)), series)
            return
        if precedence < ATOM:
            text = f"({text})"
        called = f"[{', '.join(arguments)}]" if name == "__getitem__" else f".{name}({', '.join(arguments)})"
        track(call, result, _combine(call, f"{text}{accessor}{called}", ATOM, (expression,)), series)

    return handle


def _accessor_series(accessor: Any) -> Any:
    # ``.str`` keeps its Series as ``_data``, ``.dt`` as ``_parent``.
    data = getattr(accessor, "_data", None)
    return data if isinstance(data, pd.Series) else getattr(accessor, "_parent", accessor)


def _expanded(call: OperatorCall, result: Any, series: Any, expression: SeriesExpression, text: str) -> None:
    arguments = [short_repr(a) for a in call.args[1:]] + [f"{k}={short_repr(v)}" for k, v in call.kwargs.items()]
    reads = sorted(expression.reads, key=str)
    call.run.add_node(OperatorType.PROJECTION_MODIFY, call.function, call.location,
                      f"Expand {text}({', '.join(arguments)}) into columns", list(result.columns),
                      [call.run.input(series, call.location)], result,
                      derivations={column: reads for column in result.columns})


def property_handler(name: str, accessor: str):
    """``s.dt.year``: a property of an accessor, read as ``s.dt.year``."""

    def handle(call: OperatorCall, result: Any) -> None:
        series = _accessor_series(call.args[0])
        text, precedence, expression = _render(call.run, series)
        if expression is None:
            return
        if precedence < ATOM:
            text = f"({text})"
        track(call, result, _combine(call, f"{text}{accessor}.{name}", ATOM, (expression,)), series)

    return handle


def function_handler(name: str):
    """``pd.cut(s, bins)``: a function of one tracked Series, read as ``cut(s, bins=...)``."""

    def handle(call: OperatorCall, result: Any) -> None:
        argument = call.args[0] if call.args else next(iter(call.kwargs.values()), None)
        if not isinstance(result, pd.Series) or not isinstance(argument, (pd.Series, pd.DataFrame)):
            return
        if len(result) != len(argument) or not result.index.equals(argument.index):
            return
        if isinstance(argument, pd.DataFrame):  # ``to_datetime`` of year/month/day columns
            tracked = call.run.tracked(argument)
            if tracked is None:
                return
            base = call.run.input_node(argument, call.location)
            expression = SeriesExpression("frame", ATOM, base, (), call.location, call.function,
                                          reads=frozenset((base, c) for c in argument.columns))
            text = column_list_text(argument.columns)
        else:
            text, _, expression = _render(call.run, argument)
            if expression is None:
                return
        rest = [short_repr(a) for a in call.args[1:]] + [f"{k}={short_repr(v)}" for k, v in call.kwargs.items()]
        track(call, result, _combine(call, f"{name}({', '.join([text, *rest])})", ATOM, (expression,)), argument)

    return handle


def column_list_text(columns) -> str:
    return short_repr(list(columns))


def datetime_method_handlers() -> Dict[str, Callable]:
    return {name: method_handler(name, ".dt") for name in _DATETIME_METHODS}


def series_handlers() -> Dict[str, Callable]:
    """Handlers for Series methods and operators, by attribute name."""
    handlers: Dict[str, Callable] = {dunder: binary_handler(dunder) for dunder in _BINARY}
    handlers.update({dunder: unary_handler(dunder) for dunder in _UNARY})
    handlers.update({name: method_handler(name) for name in _METHODS})
    return handlers


def string_method_handlers() -> Dict[str, Callable]:
    """Handlers for the ``.str`` accessor's methods (all work row by row), by attribute name."""
    from pandas.core.strings.accessor import StringMethods

    names = {n for n, v in vars(StringMethods).items() if not n.startswith("_") and callable(v)}
    return {name: method_handler(name, ".str") for name in (*_STRING_METHODS, *names, "__getitem__")}
