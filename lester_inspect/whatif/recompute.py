"""Re-executable DAG: the run's recorded calls kept as recipes, so that a variant re-runs only what a change reaches.

``CallTrace`` is told every call from the user's code that the run records
(``InstrumentedRun.tracer``): the function, its arguments and its result. An argument that is
the result of an earlier call is kept as a reference to it (``Ref``), anything else as the
value it was; an in-place call (``df["a"] = ...``, ``X[m] = 0``) makes a new version of the
object it changes. Each DAG node's output is the result of one such call: ``recipe_of(node)``.
pandas results are kept as copy-on-write snapshots, so a later in-place change of the same
object does not reach the value a later call was given; a numpy array changed in place loses
its earlier value, and a variant needing it cannot be re-executed.

Rule 8 (``CallTrace.recompute``, used by ``SharedExecution`` for a dropped filter): the filter's
call gets its input frame as result, then, in the run's order, only the recorded calls that lead
to the model's inputs (fit X and y, the test X and the measured labels, as those calls got them)
and read a changed value are made again; every other value is the plain run's. The model is then
refitted and measured on the new inputs. Where this could differ from the modified script run
from scratch, it is not used (``NotReexecutable`` says why, and the variant runs as rule 7):

* from the filter to the measurement, the filter's result or a name it changes is read other
  than as an operand of a recorded call (``len(df)``, ``df.columns``, a loop, a function of the
  script);
* replaying the recorded calls without the change does not give exactly the run's model inputs
  (a random draw without a seed, data changed by code the run does not record);
* a plain int or string a recorded call makes (``nunique()``) changes: Python shares such
  objects, so their uses cannot be told apart and are not followed.
"""
from __future__ import annotations

import ast
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

import numpy as np
import pandas as pd

from lester_inspect.instrumentation.ast_transform import ROW_PRESERVING_ARRAY_METHODS
from lester_inspect.instrumentation.dag import CodeLocation
from lester_inspect.whatif.patches import WhatIfError


class NotReexecutable(WhatIfError):
    """A change whose effect the recorded calls cannot reproduce exactly (says where and why)."""


class Ref:
    """An argument that is the value ``key`` (a result of an earlier recorded call, or a version of it)."""

    __slots__ = ("key",)

    def __init__(self, key: int):
        self.key = key


#: pandas' indexers (``df.loc``, ``df.iloc``) and accessors (``s.str``, ``s.dt``): made anew at each use by
#: an attribute the run does not record, each stands for the frame or Series it was taken from.
INDEXERS = ("loc", "iloc", "at", "iat")
ACCESSORS = ("str", "dt")


class Accessor:
    """An argument that is ``getattr(frame, name)`` of a referenced frame (``data.iloc`` in ``data.iloc[:5]``,
    ``s.str`` in ``s.str.lower()``)."""

    __slots__ = ("frame", "name")

    def __init__(self, frame: Ref, name: str):
        self.frame, self.name = frame, name


class Grouping:
    """An argument that is ``frame.groupby(keys, **options)`` of a referenced frame (a groupby is made by a call
    the run does not record; ``.agg(...)`` on it is)."""

    __slots__ = ("frame", "keys", "options")

    def __init__(self, frame: Ref, keys, options: dict):
        self.frame, self.keys, self.options = frame, keys, options


class Opaque:
    """An argument the run did not make and that stands for data in a way not followed (a groupby, a rolling
    window): a call reading it cannot be made again."""

    __slots__ = ("kind",)

    def __init__(self, kind: str):
        self.kind = kind


# Results compared by value, not by identity: small ints and strings are shared objects in Python.
_UNFOLLOWED = (bool, int, str, bytes, type(None))
_LOST = object()
# How far back a node recorded without its output looks for the call made at its location.
_RECENT = 64


class Call:
    """One recorded call: ``function(*args, **kwargs)`` (``Ref``s resolved), its result keys and location.

    ``outputs``: (key, selector) per value the call made (selector None: the result itself; an
    index: that item of a tuple/list result); ``changes``: (position of the argument changed in
    place, key of its new version), for a call returning None.
    """

    __slots__ = ("index", "function", "args", "kwargs", "location", "outputs", "changes")

    def __init__(self, index, function, args, kwargs, location):
        self.index, self.function, self.args, self.kwargs, self.location = index, function, args, kwargs, location
        self.outputs: List[Tuple[int, Optional[int]]] = []
        self.changes: Optional[Tuple[int, int]] = None

    def refs(self) -> List[int]:
        found = []
        _walk(self.args, found)
        _walk(self.kwargs, found)
        return found

    def __repr__(self) -> str:
        return f"Call({getattr(self.function, '__qualname__', self.function)} at {self.location})"


def _walk(value, found: list) -> None:
    if isinstance(value, Ref):
        found.append(value.key)
    elif isinstance(value, (Accessor, Grouping)):
        found.append(value.frame.key)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _walk(item, found)
    elif isinstance(value, dict):
        for item in value.values():
            _walk(item, found)


def _snapshot(value):
    """What a value was at this point of the run: pandas objects as copy-on-write copies, others as they are."""
    if isinstance(value, (pd.DataFrame, pd.Series)):
        return value.copy(deep=False)
    return value


class CallTrace:
    """The run's recorded calls in order (``InstrumentedRun.tracer``) and, per DAG node, the call that made it."""

    def __init__(self):
        self.calls: List[Call] = []
        self.values: Dict[int, Any] = {}  # key -> the value as it was made
        self.producer: Dict[int, Call] = {}
        self._latest: Dict[int, Tuple[Any, int]] = {}  # id(object) -> (the object, its latest key)
        self._node_calls: Dict[Any, Call] = {}
        #: Why the trace is incomplete (recording a call failed), or None: then nothing is re-executed.
        self.broken: Optional[str] = None

    def key_of(self, obj) -> Optional[int]:
        found = self._latest.get(id(obj))
        return found[1] if found is not None and found[0] is obj else None

    def _new_key(self, obj, call: Optional[Call]) -> int:
        """A key for ``obj`` as it is now; ``call`` made it (None: data the run did not make, e.g. a literal)."""
        key = len(self.values)
        self.values[key] = _snapshot(obj)
        if call is not None:
            self.producer[key] = call
        if not isinstance(obj, _UNFOLLOWED):
            self._latest[id(obj)] = (obj, key)
        return key

    def _convert(self, value):
        if type(value) in (list, tuple):
            return type(value)(self._convert(item) for item in value)
        if type(value) is dict:
            return {name: self._convert(item) for name, item in value.items()}
        if isinstance(value, _UNFOLLOWED):
            return value
        key = self.key_of(value)
        if key is None:
            accessor, grouping = _accessor(value), _grouping(value)
            if accessor is not None:
                return Accessor(self._convert(accessor[1]), accessor[0])
            if grouping is not None:
                return Grouping(self._convert(grouping[0]), grouping[1], grouping[2])
            if _is_data(value):  # kept as it is now: it may change in place later
                key = self._new_key(value, None)
            elif _opaque(value):
                return Opaque(type(value).__name__)
        return Ref(key) if key is not None else value

    def __call__(self, function: Callable, args: tuple, kwargs: dict, result, location: Optional[CodeLocation]):
        if self.broken is not None:
            return
        try:
            self._record(function, args, kwargs, result, location)
        except Exception as error:  # recording must never break the user's pipeline
            self.broken = f"recording the call at {location} failed: {type(error).__name__}: {error}"

    def _record(self, function: Callable, args: tuple, kwargs: dict, result, location: Optional[CodeLocation]):
        if result is not None and self.key_of(result) is not None:
            return  # the same value again: a site's lambda around a recorded method, a method returning self
        if result is None and self.calls and self.calls[-1].changes is not None and args and \
                self.key_of(args[0]) == self.calls[-1].changes[1]:
            return  # the same in-place change, seen by the store's hook after the patched method
        call = Call(len(self.calls), function, self._convert(args), self._convert(kwargs), location)
        self.calls.append(call)
        if result is None:
            changed = args[0] if args else None
            if isinstance(call.args[0] if args else None, Accessor):  # df.loc[...] = ...: df changes
                changed = _accessor(changed)[1]
            if _is_data(changed):
                if not isinstance(changed, (pd.DataFrame, pd.Series)):
                    self.values[call.args[0].key] = _LOST  # an array changed in place: its earlier value is gone
                call.changes = (0, self._new_key(changed, call))
            return
        call.outputs.append((self._new_key(result, call), None))
        if type(result) in (list, tuple):
            for position, item in enumerate(result):
                if not isinstance(item, _UNFOLLOWED) and self.key_of(item) is None:
                    call.outputs.append((self._new_key(item, call), position))

    def observe(self, node, inputs, output) -> None:
        """A DAG node: its recipe is the call whose result its output is (for a node recorded without its
        output, e.g. a column expression made a node when used, the one call made at its location)."""
        key = self.key_of(output) if output is not None else None
        if key is not None:
            self._node_calls[node] = self.producer[key]
        elif output is None and node.code_location is not None:
            found = [call for call in self.calls[-_RECENT:] if call.location == node.code_location and call.outputs]
            if len(found) == 1:
                self._node_calls[node] = found[0]

    def node_calls(self) -> list:
        """(node, the call that made its output) for every node made by a recorded call."""
        return list(self._node_calls.items())

    def resolve(self, value):
        """``value`` with its references replaced by the values the run made."""
        return self._resolve(value, {})

    def recipe_of(self, node) -> Optional[Call]:
        """How to recompute ``node``'s output: the call, its arguments and the references to earlier values."""
        return self._node_calls.get(node)

    def nodes_of(self, calls: Sequence[Call]) -> list:
        wanted = {id(call) for call in calls}
        return [node for node, call in self._node_calls.items() if id(call) in wanted]

    # -- re-execution -------------------------------------------------------------------------------

    def recompute(self, targets: Sequence[int], start: Call, result) -> Tuple[Dict[int, Any], List[Call]]:
        """The ``targets`` values when ``start``'s result is ``result``: only the calls between that lead to a
        target and read a changed value run again. Returns the values and the calls that ran."""
        # A plain int or string is not followed into the calls using it: each one made after the start is
        # made again (with what it is made from) to see that it stays the same (``_run`` refuses otherwise).
        plain = [key for call in self.calls[start.index + 1:] for key, _ in call.outputs
                 if isinstance(self.values[key], _UNFOLLOWED)]
        needed = self._leading_to([*targets, *plain], start.index)
        changed: Dict[int, Any] = {start.outputs[0][0]: result}
        ran = []
        for call in self.calls[start.index + 1:]:
            if call.index not in needed or not any(key in changed for key in call.refs()):
                continue
            self._run(call, changed)
            ran.append(call)
        return {key: changed[key] if key in changed else self._value(key) for key in targets}, ran

    def _leading_to(self, targets: Sequence[int], after: int) -> Set[int]:
        """Indices of the calls after ``after`` whose values the ``targets`` are made from."""
        needed, todo = set(), list(targets)
        while todo:
            call = self.producer.get(todo.pop())
            if call is None or call.index <= after or call.index in needed:  # None: data the run did not make
                continue
            needed.add(call.index)
            todo.extend(call.refs())
        return needed

    def _value(self, key: int):
        value = self.values[key]
        if value is _LOST:
            made = f"made by {self.producer[key]!r}" if key in self.producer else "the run did not make"
            raise NotReexecutable(f"an array {made} was changed in place later: its value before is not kept")
        return value

    def _resolve(self, value, changed: dict):
        if isinstance(value, Ref):
            return changed[value.key] if value.key in changed else self._value(value.key)
        if isinstance(value, Accessor):
            return getattr(self._resolve(value.frame, changed), value.name)
        if isinstance(value, Grouping):
            return self._resolve(value.frame, changed).groupby(value.keys, **value.options)
        if isinstance(value, Opaque):
            raise NotReexecutable(f"a call reads a {value.kind} the run did not make: it cannot be made again")
        if type(value) in (list, tuple):
            return type(value)(self._resolve(item, changed) for item in value)
        if type(value) is dict:
            return {name: self._resolve(item, changed) for name, item in value.items()}
        return value

    def _run(self, call: Call, changed: dict) -> None:
        args = list(self._resolve(call.args, changed))
        kwargs = self._resolve(call.kwargs, changed)
        target = None
        if call.changes is not None:  # never change a value another call may still read
            indexer = call.args[0] if isinstance(call.args[0], Accessor) else None
            target = self._resolve(indexer.frame, changed) if indexer is not None else args[0]
            target = target.copy(deep=False) if isinstance(target, (pd.DataFrame, pd.Series)) else target.copy()
            args[0] = getattr(target, indexer.name) if indexer is not None else target
        # A draw from a random state, made again, draws other numbers, and every later draw of the script
        # from that state would move too: such a call is not made again.
        before = _random_states([*args, *kwargs.values()])
        result = call.function(*args, **kwargs)
        if _random_states([*args, *kwargs.values()]) != before:
            raise NotReexecutable(f"{call!r} draws from a random state: made again, it and every later draw from "
                                  "that state would differ from the script's")
        if target is not None:
            changed[call.changes[1]] = target
            return
        for key, selector in call.outputs:
            value = result if selector is None else result[selector]
            if isinstance(value, _UNFOLLOWED) and not same_value(value, self.values[key]):
                raise NotReexecutable(f"{call!r} gives {value!r} instead of {self.values[key]!r}; a plain "
                                      f"{type(value).__name__} is not followed into the calls that use it")
            changed[key] = value


def _random_states(arguments) -> list:
    """The global random states (numpy's, Python's) and those of the random generators among ``arguments``."""
    import random

    states = [random.getstate(), _legacy_state(np.random.get_state(legacy=False))]
    for argument in arguments:
        if isinstance(argument, np.random.Generator):
            states.append(argument.bit_generator.state)
        elif isinstance(argument, np.random.RandomState):
            states.append(_legacy_state(argument.get_state(legacy=False)))
    return states


def _legacy_state(state: dict) -> tuple:
    """A Mersenne Twister state as a comparable value (its key is an array)."""
    return state["state"]["key"].tobytes(), state["state"]["pos"], state["has_gauss"], state["gauss"]


# Accessors not followed (``s.cat``, an indexer of something else), by module.
_OPAQUE_MODULES = ("pandas.core.indexing", "pandas.core.strings", "pandas.core.indexes.accessors",
                   "pandas.core.arrays.categorical")
_GROUPBY_OPTIONS = ("level", "as_index", "sort", "group_keys", "observed", "dropna")


def _opaque(value) -> bool:
    """Whether ``value`` is a pandas object standing for data without being it: a groupby, a window, a resampler,
    an accessor not followed."""
    from pandas.api import typing

    kinds = (typing.DataFrameGroupBy, typing.SeriesGroupBy, typing.Expanding, typing.ExponentialMovingWindow,
             typing.Resampler, typing.Rolling, typing.Window)
    return isinstance(value, kinds) or type(value).__module__.startswith(_OPAQUE_MODULES)


def _grouping(value) -> Optional[Tuple[Any, Any, dict]]:
    """(frame, keys, options) of ``frame.groupby(keys, **options)`` grouping by column names, else None."""
    from pandas.api.typing import DataFrameGroupBy

    if type(value) is not DataFrameGroupBy or getattr(value, "_selection", None) is not None or not _is_data(
            value.obj):
        return None
    keys = value.keys
    if not (isinstance(keys, str) or (type(keys) is list and all(isinstance(key, str) for key in keys))):
        return None
    return value.obj, keys, {name: getattr(value, name) for name in _GROUPBY_OPTIONS}


def _accessor(value) -> Optional[Tuple[str, Any]]:
    """(name, the frame or Series it was taken from) for ``INDEXERS`` and ``ACCESSORS``, else None."""
    module = type(value).__module__
    if module == "pandas.core.indexing" and getattr(value, "name", None) in INDEXERS:
        found = (value.name, value.obj)
    elif module == "pandas.core.strings.accessor":
        found = ("str", getattr(value, "_orig", None))
    elif module == "pandas.core.indexes.accessors":
        found = ("dt", getattr(value, "_parent", None))
    else:
        return None
    return found if _is_data(found[1]) else None


def _is_data(value) -> bool:
    return isinstance(value, (pd.DataFrame, pd.Series, np.ndarray))


def same_value(left, right) -> bool:
    """Whether two values are exactly equal: type, shape, index, dtypes and every value (NaN equal to NaN)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, pd.DataFrame):
        return left.shape == right.shape and left.columns.equals(right.columns) and left.index.equals(
            right.index) and left.dtypes.equals(right.dtypes) and left.equals(right)
    if isinstance(left, pd.Series):
        return left.index.equals(right.index) and left.dtype == right.dtype and left.name == right.name and \
            left.equals(right)
    if isinstance(left, np.ndarray):
        return left.shape == right.shape and left.dtype == right.dtype and np.array_equal(
            left, right, equal_nan=left.dtype.kind in "fc")
    try:
        return bool(left == right)
    except Exception:
        return False


def untraced_use(tree: ast.Module, traced: Set[Tuple[int, int, int, int]], start: Tuple[int, int, int, int],
                 end_line: int, model_calls: Set[Tuple[int, int, int, int]]) -> Optional[str]:
    """Where the changed expression (at span ``start``), or a name it changes, is read other than as an operand of
    a recorded call, from its statement to the measurement's (ending at ``end_line``); None if nowhere.

    The changed names are those the changed statement assigns, then those each statement reading one
    assigns. ``traced`` and ``model_calls`` are the spans of the recorded calls and of the model's fit /
    measurement calls (these read the changed data as the variant's model does).
    """
    tainted: Set[str] = set()
    for statement in _script_statements(tree):
        if statement.end_lineno < start[0] or statement.lineno > end_line:
            continue
        if statement.lineno <= start[0] <= statement.end_lineno:
            if not isinstance(statement, (ast.Assign, ast.Expr)):
                return (f"line {start[0]}: the change is inside a {type(statement).__name__} statement (line "
                        f"{statement.lineno}), whose uses of it are not followed")
            reads = [node for node in ast.walk(statement) if hasattr(node, "end_lineno") and _span(node) == start]
            if not reads:
                return f"line {start[0]}: the change is not an expression of its statement"
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue  # checked below, once every changed name is known
        else:
            reads = [node for node in ast.walk(statement) if isinstance(node, ast.Name)
                     and isinstance(node.ctx, ast.Load) and node.id in tainted]
            if not reads:
                continue
        what = reads[0].id if isinstance(reads[0], ast.Name) else "the changed expression"
        if not isinstance(statement, (ast.Assign, ast.Expr)):
            return f"line {statement.lineno}: a {type(statement).__name__} statement reads {what}"
        parents = {child: parent for parent in ast.walk(statement) for child in ast.iter_child_nodes(parent)}
        for node in reads:
            problem = _unrecorded_path(node, statement, parents, traced, model_calls)
            if problem is not None:
                what = node.id if isinstance(node, ast.Name) else "the changed expression"
                return f"line {node.lineno}: {problem} reads {what} other than as an operand of a recorded call"
        tainted |= assigned_names(statement)
    for definition in ast.walk(tree):
        if isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            read = _globals_read(definition) & tainted
            if read:
                return (f"line {definition.lineno}: a function of the script reads {', '.join(sorted(read))}, "
                        "which the variant changes")
    return None


def _globals_read(definition: ast.AST) -> Set[str]:
    """The names a function, lambda or class reads that it does not bind itself (its globals, roughly)."""
    names = [node for node in ast.walk(definition) if isinstance(node, ast.Name)]
    local = {node.id for node in names if not isinstance(node.ctx, ast.Load)}
    if not isinstance(definition, ast.ClassDef):
        local |= {argument.arg for argument in ast.walk(definition.args) if isinstance(argument, ast.arg)}
    declared = {name for node in ast.walk(definition) if isinstance(node, ast.Global) for name in node.names}
    return {node.id for node in names if isinstance(node.ctx, ast.Load)} - (local - declared)


def _script_statements(tree: ast.Module) -> List[ast.stmt]:
    """The script's top-level statements, those of an ``if __name__ == "__main__":`` block among them."""
    statements = []
    for statement in tree.body:
        if (isinstance(statement, ast.If) and not statement.orelse and isinstance(statement.test, ast.Compare)
                and ast.unparse(statement.test).replace("'", '"') == '__name__ == "__main__"'):
            statements.extend(statement.body)
        else:
            statements.append(statement)
    return statements


def _span(node: ast.AST) -> Tuple[int, int, int, int]:
    return node.lineno, node.col_offset, node.end_lineno, node.end_col_offset


def _unrecorded_path(name: ast.Name, statement: ast.stmt, parents: dict, traced: set, model_calls: set
                     ) -> Optional[str]:
    """The first expression on the way from ``name`` to its statement that is not a recorded call's operand."""
    node = name
    while node is not statement:
        parent = parents[node]
        if isinstance(parent, ast.stmt):
            if isinstance(parent, ast.Assign) and (node is parent.value or _span(node) in traced):
                return None  # the value assigned, or a target the recorded call stores into
            if isinstance(parent, ast.Expr):
                return None
            return f"`{ast.unparse(parent)[:60]}`"
        if hasattr(parent, "lineno") and _span(parent) in model_calls:
            return None
        recorded = hasattr(parent, "lineno") and _span(parent) in traced
        array_method = (isinstance(parent, ast.Call) and isinstance(parent.func, ast.Attribute)
                        and parent.func.attr in ROW_PRESERVING_ARRAY_METHODS)
        method_of_call = (isinstance(parent, ast.Attribute) and isinstance(parents.get(parent), ast.Call)
                          and parents[parent].func is parent)
        indexer = (isinstance(parent, ast.Attribute) and parent.attr in INDEXERS
                   and isinstance(parents.get(parent), ast.Subscript))
        accessor = (isinstance(parent, ast.Attribute) and parent.attr in ACCESSORS
                    and isinstance(parents.get(parent), ast.Attribute) and isinstance(parents.get(parents[parent]),
                                                                                       ast.Call)
                    and parents[parents[parent]].func is parents[parent])
        # df.groupby(keys): made anew from df for the recorded call on it (``Grouping``), or refused there.
        grouped = (isinstance(parent, ast.Call) and isinstance(parent.func, ast.Attribute)
                   and parent.func.attr == "groupby")
        container = isinstance(parent, (ast.List, ast.Tuple, ast.Dict, ast.keyword, ast.Starred))
        # Only shown: a value printed, or formatted into what is printed, changes nothing later.
        shown = isinstance(statement, ast.Expr) and (
            isinstance(parent, (ast.JoinedStr, ast.FormattedValue)) or (
                isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id == "print"
                and parents.get(parent) is statement))
        if not (recorded or array_method or method_of_call or indexer or accessor or grouped or container or shown):
            return f"`{ast.unparse(parent)[:60]}`"
        node = parent
    return None


def assigned_names(statement: ast.stmt) -> Set[str]:
    return {node.id for node in ast.walk(statement) if isinstance(node, ast.Name)
            and isinstance(node.ctx, (ast.Store, ast.Del))}
