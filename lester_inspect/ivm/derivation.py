"""Re-evaluable derivations of computed columns: ``label = complications > 1.2 * mean_complications``.

The DAG describes a computed column by the expression text the pandas backend
rendered (``Set column 'label': complications > 1.2 * mean_complications``) and the
columns it read. ``Derivation.of_node`` parses that text with ``ast`` into a tree of a
few allowed forms (arithmetic, comparisons, ``&``/``|``/``~``, constants, column
names, the Series and ``.str`` methods the backend renders) and is accepted only if
re-evaluating it on the node's own frame gives back exactly the column the pipeline
computed. Anything else is a ``reason`` why the column cannot be re-derived: callers
report it, they never guess.
"""
from __future__ import annotations

import ast
import dataclasses
import functools
import operator as op
from typing import Dict, Optional, Sequence

import numpy as np
import pandas as pd

_BINARY = {ast.Add: op.add, ast.Sub: op.sub, ast.Mult: op.mul, ast.Div: op.truediv, ast.FloorDiv: op.floordiv,
           ast.Mod: op.mod, ast.Pow: op.pow, ast.BitAnd: op.and_, ast.BitOr: op.or_, ast.BitXor: op.xor}
_COMPARE = {ast.Gt: op.gt, ast.GtE: op.ge, ast.Lt: op.lt, ast.LtE: op.le, ast.Eq: op.eq, ast.NotEq: op.ne}
_UNARY = {ast.Invert: op.invert, ast.USub: op.neg, ast.UAdd: op.pos, ast.Not: op.invert}
# Deterministic, row-wise methods: the result of a row depends on that row only.
_SERIES_METHODS = {"fillna", "astype", "isna", "notna", "isnull", "notnull", "between", "abs", "round", "clip",
                   "isin", "replace"}
_STRING_METHODS = {"lower", "upper", "strip", "lstrip", "rstrip", "len", "contains", "startswith", "endswith",
                   "replace", "slice", "get", "title", "capitalize", "zfill", "pad", "isdigit", "isnumeric",
                   "isalpha", "count", "find"}


class NotDerivable(ValueError):
    """An expression outside the forms ``Derivation`` re-evaluates."""


@dataclasses.dataclass(frozen=True)
class Derivation:
    """``column = text`` over the columns ``reads``, checked to reproduce the pipeline's values."""

    column: str
    text: str
    reads: tuple

    @classmethod
    def parse(cls, column: str, text: str) -> "Derivation":
        try:
            tree = _tree(text)
        except SyntaxError:
            raise NotDerivable(f"{text!r} is not an expression lester-inspect can evaluate") from None
        names = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)})
        derivation = cls(column, text, tuple(names))
        derivation._check(tree.body)
        return derivation

    @classmethod
    def of_node(cls, dag, node, column: str, frame: pd.DataFrame) -> "Derivation":
        """The derivation of ``column`` at a ``Set column`` node, verified on the node's frame."""
        prefix = f"Set column {column!r}: "
        if not node.description.startswith(prefix):
            raise NotDerivable(f"line {_line(node)}: {node.description!r} records no expression for {column!r}")
        derivation = cls.parse(column, node.description[len(prefix):])
        missing = [name for name in derivation.reads if name not in frame.columns]
        if missing:
            raise NotDerivable(f"line {_line(node)}: {derivation.text!r} names {', '.join(missing)}, "
                               "not columns of the frame")
        again = derivation.evaluate({name: frame[name] for name in derivation.reads})
        if not same_values(again, frame[column]):
            raise NotDerivable(f"line {_line(node)}: re-evaluating {derivation.text!r} does not reproduce "
                               f"the column {column!r} the pipeline computed")
        return derivation

    def evaluate(self, columns: Dict[str, pd.Series]) -> pd.Series:
        tree = _tree(self.text)
        result = _evaluate(tree.body, {k: v if isinstance(v, pd.Series) else pd.Series(v) for k, v in columns.items()})
        if not isinstance(result, pd.Series):
            length = len(next(iter(columns.values()))) if columns else 1
            result = pd.Series([result] * length)
        return result.rename(self.column)

    def _check(self, node) -> None:
        _evaluate(node, None)


@functools.lru_cache(maxsize=256)
def _tree(text: str) -> ast.Expression:
    """The parsed expression (never modified; parsed once per process)."""
    return ast.parse(text, mode="eval")


def same_values(left, right) -> bool:
    """Equal element by element, missing values equal to each other, dtypes aside."""
    left, right = pd.Series(np.asarray(left, dtype=object)), pd.Series(np.asarray(right, dtype=object))
    if len(left) != len(right):
        return False
    both_missing = left.isna().to_numpy() & right.isna().to_numpy()
    equal = (left.to_numpy() == right.to_numpy())
    return bool(np.all(equal | both_missing))


def changed_positions(old: Sequence, new: Sequence) -> np.ndarray:
    """Positions where two aligned value arrays differ (missing equals missing)."""
    old, new = np.asarray(old), np.asarray(new)
    if old.dtype.kind in "biuf" and new.dtype.kind in "biuf":  # the fast path: labels, numbers
        differ = old != new
        if old.dtype.kind == "f" or new.dtype.kind == "f":
            differ &= ~(np.isnan(old.astype(np.float64)) & np.isnan(new.astype(np.float64)))
        return np.flatnonzero(differ)
    old, new = old.astype(object), new.astype(object)
    old_missing, new_missing = pd.isna(old), pd.isna(new)
    equal = np.zeros(len(old), dtype=bool)
    both = ~old_missing & ~new_missing
    equal[both] = old[both] == new[both]
    return np.flatnonzero(~(equal | (old_missing & new_missing)))


def _evaluate(node, columns: Optional[Dict]):
    """Evaluate (``columns`` given) or only check (``columns`` None) one node of the tree."""
    check = columns is None
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_evaluate(item, columns) for item in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Name):
        return None if check else columns[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left, columns), _evaluate(node.right, columns)
        return None if check else _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        operand = _evaluate(node.operand, columns)
        return None if check else _UNARY[type(node.op)](operand)
    if isinstance(node, ast.Compare) and all(type(o) in _COMPARE for o in node.ops):
        left = _evaluate(node.left, columns)
        result = None
        for comparison, right_node in zip(node.ops, node.comparators):
            right = _evaluate(right_node, columns)
            if not check:
                step = _COMPARE[type(comparison)](left, right)
                result = step if result is None else result & step
            left = right
        return result
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        method, receiver = node.func.attr, node.func.value
        accessor = isinstance(receiver, ast.Attribute) and receiver.attr == "str"
        allowed = _STRING_METHODS if accessor else _SERIES_METHODS
        if method not in allowed:
            raise NotDerivable(f"the method {'.str.' if accessor else '.'}{method}() is not re-evaluated")
        target = _evaluate(receiver.value if accessor else receiver, columns)
        arguments = [_evaluate(a, columns) for a in node.args]
        keywords = {k.arg: _evaluate(k.value, columns) for k in node.keywords if k.arg is not None}
        if check:
            return None
        bound = getattr(target.str if accessor else target, method)
        return bound(*arguments, **keywords)
    raise NotDerivable(f"{ast.unparse(node)!r} is not a form lester-inspect re-evaluates")


def _line(node) -> str:
    return str(node.code_location.lineno) if node.code_location else "?"
