"""numpy and scipy.sparse operators: maps, stacks, random draws.

numpy's functions are patched where user code finds them (``np.where``,
``np.hstack``, ``np.c_``, ``scipy.sparse.hstack``). Its ufuncs and operators cannot be
patched: the AST rewrite (``instrumentation/ast_transform.py``) routes calls of the
names in ``CALL_HOOK_NAMES``, operators and subscripts through the hooks of
``backends/hooks.py``, which hand this backend operands and result (``operation``,
``hooked_calls``) of an operation that runs in user code.

Row mappings: ufuncs, operators, ``where`` and ``select`` are maps (an operand whose
rows line up with the result's keeps them; a broadcast row contributes values only);
``hstack``/``column_stack``/``c_`` put columns side by side, every input keeps its rows,
and the node's ``column_sources`` attribute says which input column each output
column is (matrix column provenance follows it); ``vstack``/``concatenate(axis=0)``/
``r_`` concatenate rows (each input owns a segment). A random draw is a data source of
its own, made when the array first flows into an operator.
"""
from __future__ import annotations

import functools
import sys
from typing import Any, Callable, Dict, Optional, Sequence

import numpy as np

from lester_inspect.backends.formatting import key_text
from lester_inspect.instrumentation.dag import CodeLocation, DagNode, FunctionInfo, OperatorType
from lester_inspect.instrumentation.rows import IDENTITY, Input, Positions, Unknown, segment
from lester_inspect.instrumentation.run import InstrumentedRun, OperatorCall, columns_of
from lester_inspect.instrumentation.tracking import ObjectTable, Tracked

T = OperatorType
_SNIPPET_LENGTH = 80
_OPERATOR_FUNCTIONS = {"Add": "add", "Sub": "subtract", "Mult": "multiply", "Div": "true_divide",
                       "FloorDiv": "floor_divide", "Mod": "remainder", "Pow": "power", "MatMult": "matmul",
                       "BitAnd": "bitwise_and", "BitOr": "bitwise_or", "BitXor": "bitwise_xor", "Gt": "greater",
                       "GtE": "greater_equal", "Lt": "less", "LtE": "less_equal", "Eq": "equal",
                       "NotEq": "not_equal", "USub": "negative", "Invert": "invert"}


def _pandas_classes(*names: str) -> tuple:
    # pandas is looked up, not imported: this backend is installed while numpy is being
    # imported, which may happen inside pandas' own import.
    pd = sys.modules.get("pandas")
    return tuple(getattr(pd, name) for name in names if hasattr(pd, name)) if pd is not None else ()


def _is_sparse(obj: Any) -> bool:
    # Asked of scipy, not by duck typing: a Spark Column answers every attribute with a Column.
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(obj)


def _is_matrix_like(obj: Any) -> bool:
    return isinstance(obj, (np.ndarray, *_pandas_classes("Series", "DataFrame"))) or _is_sparse(obj)


def carries_rows(operand: Any, result: Any) -> bool:
    """Whether ``operand``'s rows are the result's rows in an element-wise operation (not broadcast)."""
    shape, out = getattr(operand, "shape", None), getattr(result, "shape", None)
    if not shape or not out or len(shape) != len(out):
        return False
    return shape[0] == out[0]


def _ndim(obj: Any) -> int:
    return len(getattr(obj, "shape", ()))


def _width(obj: Any) -> int:
    shape = getattr(obj, "shape", ())
    return shape[1] if len(shape) == 2 else 1


class SparseBackend:
    """``scipy.sparse.hstack``/``vstack``: installed when the pipeline imports scipy.sparse."""

    def __init__(self, run: InstrumentedRun):
        self.run = run

    def install(self, patches) -> None:
        sparse = sys.modules["scipy.sparse"]
        for name in ("hstack", "vstack"):
            patches.apply(sparse, name, self.run.wrap(getattr(sparse, name), _stack_handler(name)))


class NumpyBackend:
    def __init__(self, run: InstrumentedRun):
        self.run = run
        # Random arrays not yet used as data: array -> (description, function, location).
        self.draws = ObjectTable()

    # -- installation ------------------------------------------------------------------------------

    def install(self, patches) -> None:
        from numpy.lib import _index_tricks_impl

        run = self.run
        for name, handler in _FUNCTIONS.items():
            patches.apply(np, name, run.wrap(getattr(np, name), handler))
        concatenator = _index_tricks_impl.AxisConcatenator
        patches.apply(concatenator, "__getitem__", run.wrap(vars(concatenator)["__getitem__"], index_concatenation))

    def hooked_calls(self) -> Dict[str, Callable]:
        from lester_inspect.instrumentation.ast_transform import (_CONVERSION_NAMES, _RANDOM_NAMES, _SPARSE_NAMES,
                                                                  _UFUNC_NAMES)

        handlers = {name: self._ufunc for name in _UFUNC_NAMES}
        handlers.update({name: self._random_draw for name in _RANDOM_NAMES})
        handlers.update({name: self._conversion for name in _CONVERSION_NAMES})
        handlers.update({name: self._sparse_conversion for name in _SPARSE_NAMES})
        return handlers

    def _sparse_conversion(self, receiver, name: str, args: tuple, kwargs: dict):
        """``scipy.sparse.csr_matrix(X)`` of tracked data keeps its node, as ``X.astype`` does."""
        if getattr(receiver, "__name__", "") != "scipy.sparse" or not args or not hasattr(args[0], "shape"):
            return None
        return self._conversion(args[0], name, args[1:], kwargs)

    def operation(self, name: str, position: tuple, operands: tuple, result: Any) -> None:
        """An operator's or subscript's result (see ``backends/hooks.py``): record it if it is tracked data's."""
        if not ((isinstance(result, np.ndarray) or _is_sparse(result)) and len(result.shape)):
            return
        run = self.run
        if self.still_random(operands[:1] if name == "Subscript" else operands, result, CodeLocation(*position)):
            return
        if name == "Subscript":
            value = operands[0]
            if (isinstance(value, np.ndarray) or _is_sparse(value)) and self.known(value) and not _is_pending(run,
                                                                                                            value):
                call = OperatorCall(run, FunctionInfo("numpy", "ndarray.__getitem__"), CodeLocation(*position),
                                    operands, {})
                self.run.record(subscript, call, result)
            return
        known = [operand for operand in operands if isinstance(operand, np.ndarray) or _is_sparse(operand)]
        if known and any(self.known(operand) for operand in known):
            call = OperatorCall(run, FunctionInfo("numpy", _OPERATOR_FUNCTIONS[name]), CodeLocation(*position),
                                operands, {})
            self.run.record(map_operation, call, result)

    def store(self, position: tuple, target: Any, key: Any, value: Any, augmented: Optional[str], _shape) -> None:
        """``X[key] = value`` or ``X[key] += value`` changed a tracked array in place (see ``backends/hooks.py``)."""
        if not isinstance(target, np.ndarray) or not target.ndim or self.run.tracked(target) is None:
            return
        call = OperatorCall(self.run, FunctionInfo("numpy", "ndarray.__setitem__"), CodeLocation(*position),
                            (target, key, value), {})
        self.run.record(functools.partial(store_values, augmented=augmented), call, None)

    # -- what is known of an object ------------------------------------------------------------------

    def node_of(self, obj: Any) -> Optional[DagNode]:
        """The node of tracked data (a random draw becomes its source now); None for anything else."""
        if not hasattr(obj, "shape"):
            return None
        return self.run.input_node(obj, None, untracked_as_source=False)

    def draw_of(self, obj: Any):
        """The entry of a random draw not yet used as data that ``obj`` is (or is a view of with its rows)."""
        if not hasattr(obj, "shape") or self.run.tracked(obj) is not None:
            return None
        return self._drawn_array(obj)[0]

    def _drawn_array(self, obj: Any):
        """The draw entry of ``obj`` or of the array it views with the same rows, and that array."""
        drawn, base = self.draws.get(obj), obj
        while drawn is None and getattr(base, "base", None) is not None:
            base = base.base
            drawn = self.draws.get(base)
            if drawn is not None and base.shape[:1] != obj.shape[:1]:
                return None, None
        return drawn, base

    def still_random(self, operands: Sequence[Any], result: Any, location: Optional[CodeLocation]) -> bool:
        """A result computed only from random draws (and constants) is a random draw too, still unused.

        ``pd.DataFrame({"label": rng.random(n) > 0.5})`` thus stays one data source, as it
        would be without the comparison.
        """
        data = [o for o in operands if hasattr(o, "shape") and not isinstance(o, np.generic)]
        entries = [self.draw_of(o) for o in data]
        if not any(entries) or any(e is None and (self.run.tracked(o) is not None) for e, o in zip(entries, data)):
            return False
        if not hasattr(result, "shape") or isinstance(result, _pandas_classes("Series", "DataFrame")):
            return True
        description, function, _ = next(e for e in entries if e)
        snippet = " ".join(self.run.call_sites.snippet(location).split()) if location is not None else ""
        computed = f" (computed: {snippet})" if snippet else ""
        self.draws.set(result, (description.split(" (computed: ")[0] + computed, function, location))
        return True

    def known(self, obj: Any) -> bool:
        """Tracked data (pending Series expressions stay pending) or a random draw."""
        return self.run.tracked(obj) is not None or (isinstance(obj, np.ndarray) and self.node_of(obj) is not None)

    def find_source(self, obj: Any) -> Optional[DagNode]:
        """The data source of a random draw (or a view of one with its rows), made on first use."""
        drawn, base = self._drawn_array(obj)
        if drawn is None:
            return None
        description, function, location = drawn
        node = self.run.add_node(T.DATA_SOURCE, function, location, description, columns_of(base), (), base)
        if base is not obj:
            self.run.set_producer(obj, node)
        return node

    # -- hooked calls ------------------------------------------------------------------------------------

    def _ufunc(self, receiver, name: str, args: tuple, kwargs: dict):
        function = getattr(receiver, name, None)
        if not isinstance(function, np.ufunc) or "out" in kwargs:
            return None
        if any(self.draw_of(a) is not None for a in args):
            backend = self

            def still_random(call: OperatorCall, result: Any) -> None:
                if not backend.still_random(call.args[1:], result, call.location):
                    ufunc_call(call, result)

            return FunctionInfo("numpy", name), still_random
        if not any(_is_matrix_like(a) and self.known(a) for a in args):
            return None
        return FunctionInfo("numpy", name), ufunc_call

    def _random_draw(self, receiver, name: str, args: tuple, kwargs: dict):
        owner = receiver if isinstance(receiver, (np.random.Generator, np.random.RandomState)) else None
        if owner is None and receiver is np.random:
            owner = getattr(getattr(np.random, name, None), "__self__", None)
        if owner is None:
            return None
        if name in ("shuffle", "permutation") and args and len(getattr(args[0], "shape", ())):
            return self._permutation(owner, name, args)
        if name == "shuffle":
            return None
        draws = self.draws

        def draw(call: OperatorCall, result: Any) -> None:
            if isinstance(result, np.ndarray) and result.ndim:
                arguments = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
                described = ", ".join(arguments)
                if len(described) > _SNIPPET_LENGTH:
                    described = described[:_SNIPPET_LENGTH - 3] + "..."
                draws.set(result, (f"Random draw: {type(owner).__name__}.{name}({described})", call.function,
                                   call.location))

        return FunctionInfo("numpy.random", f"{type(owner).__name__}.{name}"), draw

    def _permutation(self, owner, name: str, args: tuple):
        """``rng.shuffle(X)``/``rng.permutation(X)`` of tracked rows: the permutation, drawn again from a copy
        of the generator's state and checked against the result, maps the rows."""
        data = args[0]
        if not self.known(data):
            return None
        generator = isinstance(owner, np.random.Generator)
        state = owner.bit_generator.state if generator else owner.get_state()
        before = data.copy() if name == "shuffle" else data

        def permuted(call: OperatorCall, result: Any) -> None:
            clone = np.random.Generator(type(owner.bit_generator)()) if generator else np.random.RandomState()
            if generator:
                clone.bit_generator.state = state
            else:
                clone.set_state(state)
            order = clone.permutation(len(before))
            output = data if name == "shuffle" else result
            same = np.array_equal(output, before[order], equal_nan=before.dtype.kind in "fc")
            rows = Positions(order) if same else Unknown(f"{call.function}: the permutation could not be drawn again")
            run = call.run
            run.add_node(T.SORT, call.function, call.location, f"Shuffle rows ({type(owner).__name__}.{name})",
                         run.input_node(data, call.location).columns, [run.input(data, call.location, rows)], output)

        return FunctionInfo("numpy.random", f"{type(owner).__name__}.{name}"), permuted

    def _conversion(self, receiver, name: str, args: tuple, kwargs: dict):
        if not (isinstance(receiver, np.ndarray) or _is_sparse(receiver)):
            return None
        run, draws = self.run, self.draws
        tracked, drawn = run.tracked(receiver), draws.get(receiver)
        if tracked is None and drawn is None:
            return None

        def share(call: OperatorCall, result: Any) -> None:
            # Same rows, same values (up to the type): the conversion keeps the node, as ``ravel`` does.
            if result is receiver or getattr(result, "shape", None) != receiver.shape:
                return
            if tracked is not None:
                run.objects.set(result, tracked)
            else:
                draws.set(result, drawn)

        return FunctionInfo("numpy", f"ndarray.{name}"), share


# -- maps ---------------------------------------------------------------------------------------------

def _describe(call: OperatorCall) -> str:
    snippet = " ".join(call.run.call_sites.snippet(call.location).split())
    if not snippet:
        snippet = f"{call.function.name}(...)"
    if len(snippet) > _SNIPPET_LENGTH:
        snippet = snippet[:_SNIPPET_LENGTH - 3] + "..."
    return f"Compute: {snippet}"


_SYMBOLS = {"add": "+", "subtract": "-", "multiply": "*", "true_divide": "/", "floor_divide": "//", "remainder": "%",
            "power": "**", "matmul": "@", "bitwise_and": "&", "bitwise_or": "|", "bitwise_xor": "^", "greater": ">",
            "greater_equal": ">=", "less": "<", "less_equal": "<=", "equal": "==", "not_equal": "!=",
            "negative": "-", "invert": "~"}


def _pending(call: OperatorCall, operands: Sequence[Any], result: Any) -> bool:
    """Keep a 1-D result of pending Series expressions pending too (``df['g'].to_numpy() == 'd'``).

    Like ``df['g'] == 'd'`` it becomes a node only if it flows into an operator as data,
    and a new column made from it is described by its expression.
    """
    from lester_inspect.backends.formatting import short_repr
    from lester_inspect.backends.series_expressions import ATOM, _combine

    if len(getattr(result, "shape", ())) != 1:
        return False
    tracked = [call.run.tracked(o) if hasattr(o, "shape") else None for o in operands]
    if not any(t is not None for t in tracked) or any(
            t is not None and (t.expression is None or t.node is not None) for t in tracked):
        return False
    texts = [t.expression.text if t is not None else short_repr(o) for t, o in zip(tracked, operands)]
    name = call.function.name
    if name in _SYMBOLS and len(texts) == 2:
        text, precedence = f"{texts[0]} {_SYMBOLS[name]} {texts[1]}", 3
    elif name in _SYMBOLS and len(texts) == 1:
        text, precedence = f"{_SYMBOLS[name]}{texts[0]}", 7
    elif name == "select":
        count = len(call.arg(0, "condlist"))
        conditions, choices = ", ".join(texts[:count]), ", ".join(texts[count:2 * count])
        text, precedence = f"select([{conditions}], [{choices}], {texts[-1]})", ATOM
    else:
        text, precedence = f"{name}({', '.join(texts)})", ATOM
    expression = _combine(call, text, precedence, [t.expression if t is not None else None for t in tracked])
    first = next(t for t in tracked if t is not None)
    call.run.objects.set(result, Tracked(expression=expression, annotations=first.annotations))
    return True


def _map_node(call: OperatorCall, operands: Sequence[Any], result: Any) -> Optional[DagNode]:
    """A node for an element-wise ``result`` of ``operands``: row-aligned operands keep their rows."""
    run = call.run
    inputs, columns = [], None
    if _pending(call, operands, result) or _numpy_backend(run).still_random(operands, result, call.location):
        return None
    operands = [o for o in operands if hasattr(o, "shape") and not isinstance(o, np.generic)]
    if not _known_inputs(call, operands, result):
        return None
    for operand in operands:
        rows = carries_rows(operand, result)
        node = run.input_node(operand, call.location, untracked_as_source=rows)
        if node is None:
            continue
        inputs.append(Input(node, operand, IDENTITY if rows else None))
        if rows and columns is None and len(node.columns) == _width(result):
            columns = list(node.columns)
    if not any(item.carries_rows for item in inputs):
        if not inputs:
            return None
        # Only broadcast operands are known: the result's rows are not any input's rows.
        inputs = [Input(item.node, item.data, Unknown(f"{call.function}: no operand has the result's rows"))
                  for item in inputs]
    if isinstance(result, _pandas_classes("DataFrame")):
        columns = list(result.columns)
    return run.add_node(T.PROJECTION_MODIFY, call.function, call.location, _describe(call),
                        columns if columns is not None else columns_of(result), inputs, result)


def _is_pending(run: InstrumentedRun, obj: Any) -> bool:
    tracked = run.tracked(obj)
    return tracked is not None and tracked.node is None and tracked.expression is not None


def subscript(call: OperatorCall, result: Any) -> None:
    """``X[rows, columns]`` of a tracked matrix: a projection of columns, or a selection of rows."""
    run, (value, key) = call.run, call.args
    parts = key if isinstance(key, tuple) else (key,)
    if len(parts) > len(value.shape) or any(p is None or p is Ellipsis for p in parts):
        return  # new axes and ellipses reshape more than rows and columns: no mapping claimed
    rows = parts[0]
    columns = parts[1] if len(parts) > 1 else slice(None)
    count = value.shape[0]
    positions = np.arange(count)[_index_key(rows)]
    if np.ndim(positions) != 1:
        return  # a single row: its values, not rows
    node = run.input_node(value, call.location)
    sources = {}
    if len(value.shape) == 2:
        kept = np.arange(value.shape[1])[_index_key(columns)]
        if np.ndim(kept) == 0:
            kept = np.array([kept])
        sources = {"column_sources": tuple(((node.node_id, int(k)),) for k in kept)}
        names = [node.columns[k] if len(node.columns) == value.shape[1] else f"x{k}" for k in kept]
    else:
        names = list(node.columns)
    inputs = []
    whole = isinstance(rows, slice) and rows == slice(None)
    if whole:
        inputs.append(Input(node, value, IDENTITY))
        operator_type, description = T.PROJECTION, f"Project columns {key_text(columns)}"
    else:
        inputs.append(Input(node, value, Positions(positions)))
        operator_type, description = T.SELECTION, f"Select rows {key_text(rows)}"
        if len(parts) > 1 and not (isinstance(columns, slice) and columns == slice(None)):
            description += f", columns {key_text(columns)}"
        mask = run.input_node(rows, call.location, untracked_as_source=False) if _is_data_key(rows) else None
        if mask is not None and mask is not node:
            inputs.append(Input(mask, rows, rows=None))
    run.add_node(operator_type, call.function, call.location, description, names, inputs, result, **sources)


def store_values(call: OperatorCall, _: Any, augmented: Optional[str] = None) -> None:
    """``X[rows, columns] = value`` (or ``+=`` & co., ``augmented``) in place: the same rows; the columns
    written now also depend on the value's columns and on the columns the row key (a mask) was computed from."""
    run, (target, key, value) = call.run, call.args
    parts = key if isinstance(key, tuple) else (key,)
    before = run.input_node(target, call.location)
    width = target.shape[1] if target.ndim == 2 else 1
    written = set(range(width))
    if target.ndim == 2 and len(parts) > 1 and not any(p is None or p is Ellipsis for p in parts):
        written = set(np.atleast_1d(np.arange(width)[_index_key(parts[1])]).tolist())
    inputs, extra = [Input(before, target, IDENTITY)], []
    for operand in (value, *parts):
        node = run.input_node(operand, call.location, untracked_as_source=False) if _is_matrix_like(
            operand) else None
        if node is not None and node is not before and all(node is not i.node for i in inputs):
            inputs.append(Input(node, operand, rows=None))
            extra += [(node.node_id, k) for k in range(len(node.columns))]
    # Every row of a written column overwritten (``X[:, 0] = ...``): its old values are gone.
    replaced = augmented is None and isinstance(parts[0], slice) and parts[0] == slice(None)
    sources = tuple((*(() if c in written and replaced else ((before.node_id, c),)), *(extra if c in written else ()))
                    for c in range(width))
    names = before.columns if len(before.columns) == width else [f"x{c}" for c in range(width)]
    described = f"Set values [{', '.join(key_text(p) for p in parts)}] {augmented or '='} {key_text(value)}"
    run.add_node(T.PROJECTION_MODIFY, call.function, call.location, described, names, inputs, target,
                 column_sources=sources)


def _index_key(key: Any) -> Any:
    """``key`` as numpy indexes with it: an empty list selects nothing (as integers, not floats)."""
    if not _is_data_key(key):
        return key
    key = np.asarray(key)
    return key.astype(np.intp) if key.size == 0 and key.dtype.kind == "f" else key


def _is_data_key(key: Any) -> bool:
    return isinstance(key, (np.ndarray, list, *_pandas_classes("Series", "Index")))


def map_operation(call: OperatorCall, result: Any) -> None:
    _map_node(call, call.args, result)


def ufunc_call(call: OperatorCall, result: Any) -> None:
    operands = call.args[1:]
    if isinstance(result, _pandas_classes("Series")):
        _series_expression(call, operands, result)
    elif isinstance(result, (np.ndarray, *_pandas_classes("DataFrame"))) and result.ndim:
        _map_node(call, operands, result)


def _series_expression(call: OperatorCall, operands: Sequence[Any], result) -> None:
    """``np.log(df['x'])`` is a pending Series expression like ``df['x'] * 2``."""
    from lester_inspect.backends.series_expressions import ATOM, _combine, expression_of, track

    expressions = [expression_of(call.run, operand) for operand in operands]
    if not any(e is not None for e in expressions):
        _map_node(call, operands, result)
        return
    texts = [e.text if e is not None else repr(o) for e, o in zip(expressions, operands)]
    rows_of = next(o for e, o in zip(expressions, operands) if e is not None)
    track(call, result, _combine(call, f"{call.function.name}({', '.join(texts)})", ATOM, expressions), rows_of)


def where(call: OperatorCall, result: Any) -> None:
    if len(call.args) + len(call.kwargs) < 3:
        return  # np.where(condition) gives indices, not a map
    _map_node(call, [*call.args, *call.kwargs.values()], result)


def select(call: OperatorCall, result: Any) -> None:
    conditions, choices = call.arg(0, "condlist"), call.arg(1, "choicelist")
    default = call.arg(2, "default")
    _map_node(call, [*conditions, *choices, default], result)


# -- stacks ---------------------------------------------------------------------------------------------

def _numpy_backend(run: InstrumentedRun) -> "NumpyBackend":
    return next(backend for backend in run.backends if isinstance(backend, NumpyBackend))


def _known_inputs(call: OperatorCall, parts: Sequence[Any], result: Any) -> bool:
    """Whether some part is tracked data (parts made only of unused random draws make a random draw)."""
    if _numpy_backend(call.run).still_random(parts, result, call.location):
        return False
    return any(hasattr(p, "shape") and call.run.input_node(p, None, untracked_as_source=False) is not None
               for p in parts)


def _stack_columns(call: OperatorCall, parts: Sequence[Any], result: Any, description: str) -> None:
    """Inputs side by side: each keeps its rows, and ``column_sources`` names each output column's input column."""
    run, inputs, columns, sources = call.run, [], [], []
    for part in parts:
        width = _width(part)
        if not hasattr(part, "shape") or _ndim(part) == 0:
            columns += ["constant"] * width
            sources += [()] * width
            continue
        node = run.input_node(part, call.location)
        rows = IDENTITY if carries_rows(part, result) or _ndim(part) == 1 else Unknown(
            f"{call.function}: an input's rows differ from the result's")
        inputs.append(Input(node, part, rows))
        names = list(node.columns) if len(node.columns) == width else columns_of(part)
        columns += names if _ndim(part) == 2 else names[:1]
        sources += [((node.node_id, position),) for position in range(width)]
    run.add_node(T.CONCATENATION, call.function, call.location, description, columns, inputs, result,
                 column_sources=tuple(sources))


def _stack_rows(call: OperatorCall, parts: Sequence[Any], result: Any, description: str) -> None:
    run, inputs, offset, total = call.run, [], 0, _length(result)
    for part in parts:
        length = _length(part)
        node = run.input_node(part, call.location)
        inputs.append(Input(node, part, segment(offset, length, total)))
        offset += length
    first = inputs[0].node if inputs else None
    columns = list(first.columns) if first is not None and len(first.columns) == _width(result) else columns_of(result)
    run.add_node(T.CONCATENATION, call.function, call.location, description, columns, inputs, result)


def _length(obj: Any) -> int:
    shape = getattr(obj, "shape", None)
    return shape[0] if shape else 1


def _unknown_rows(call: OperatorCall, parts: Sequence[Any], result: Any, reason: str) -> None:
    inputs = [Input(call.run.input_node(p, call.location), p, Unknown(f"{call.function}: {reason}"))
              for p in parts if hasattr(p, "shape")]
    call.run.add_node(T.CONCATENATION, call.function, call.location, _describe(call).replace("Compute", "Stack"),
                      columns_of(result), inputs, result)


def _stack_handler(name: str):
    """``np.hstack``/``vstack``/``column_stack`` and ``scipy.sparse.hstack``/``vstack``."""

    def handle(call: OperatorCall, result: Any) -> None:
        parts = list(call.args[0] if call.args else call.kwargs.get("tup", call.kwargs.get("blocks", ())))
        if not parts or not _known_inputs(call, parts, result):
            return
        flat = all(_ndim(p) <= 1 and not _is_sparse(p) for p in parts)
        count = f"{len(parts)} arrays"
        if name == "column_stack" or (name == "hstack" and not flat):
            _stack_columns(call, parts, result, f"Concatenate columns of {count}")
        elif name == "hstack" or (name == "vstack" and not flat):
            _stack_rows(call, parts, result, f"Concatenate rows of {count}")
        else:
            _unknown_rows(call, parts, result, "each 1-D array becomes one row")

    return handle


def concatenate(call: OperatorCall, result: Any) -> None:
    parts = list(call.arg(0, "arrays"))
    axis = call.arg(1, "axis", 0)
    if not parts or not _known_inputs(call, parts, result):
        return
    count = f"{len(parts)} arrays"
    if axis is None:
        _unknown_rows(call, parts, result, "axis=None flattens the arrays")
    elif axis % max(_ndim(result), 1) == 0:
        _stack_rows(call, parts, result, f"Concatenate rows of {count}")
    else:
        _stack_columns(call, parts, result, f"Concatenate columns of {count}")


def index_concatenation(call: OperatorCall, result: Any) -> None:
    """``np.c_[a, b]`` puts columns side by side, ``np.r_[a, b]`` concatenates rows."""
    from numpy.lib._index_tricks_impl import CClass, RClass

    receiver, key = call.args[0], call.args[1]
    parts = list(key) if isinstance(key, tuple) else [key]
    if not isinstance(receiver, (CClass, RClass)) or not _known_inputs(call, parts, result):
        return
    if any(isinstance(p, (str, slice)) for p in parts):
        _unknown_rows(call, [p for p in parts if hasattr(p, "shape")], result,
                      "directives and slices inside the brackets are not followed")
    elif isinstance(receiver, CClass):
        _stack_columns(call, parts, result, f"Concatenate columns of {len(parts)} arrays (np.c_)")
    else:
        _stack_rows(call, parts, result, f"Concatenate rows of {len(parts)} arrays (np.r_)")


_FUNCTIONS = {
    "where": where,
    "select": select,
    "concatenate": concatenate,
    "hstack": _stack_handler("hstack"),
    "vstack": _stack_handler("vstack"),
    "column_stack": _stack_handler("column_stack"),
}
