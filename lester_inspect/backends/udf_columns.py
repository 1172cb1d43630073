"""Which columns a row-wise function (``df.apply(lambda row: ..., axis=1)``) reads, from its AST."""
from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Callable, FrozenSet, Optional


def columns_read_by(function: Callable) -> Optional[FrozenSet[str]]:
    """The columns ``function`` reads from its row argument, or None when that is undecidable.

    Decidable means every use of the row parameter is ``row['name']``, ``row.name`` or
    ``row.get('name')`` with a constant name. Anything else (passing the row on, iterating
    it, a computed key, no source code) makes the answer undecidable.
    """
    code = getattr(function, "__code__", None)
    if code is None or code.co_argcount < 1:
        return None
    try:
        source = textwrap.dedent(inspect.getsource(function))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return None
    parameter = code.co_varnames[0]
    candidates = [node for node in ast.walk(tree) if isinstance(node, (ast.Lambda, ast.FunctionDef))
                  and node.args.args and node.args.args[0].arg == parameter]
    readings = {_reads(candidate, parameter) for candidate in candidates}
    # Several functions with this parameter on the source lines must agree, or we cannot tell which.
    return readings.pop() if len(readings) == 1 else None


def _reads(function: ast.AST, parameter: str) -> Optional[FrozenSet[str]]:
    parents = {}
    for node in ast.walk(function):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    columns = set()
    for node in ast.walk(function):
        if not (isinstance(node, ast.Name) and node.id == parameter and isinstance(node.ctx, ast.Load)):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Subscript) and parent.value is node and _constant(parent.slice):
            columns.add(parent.slice.value)
        elif isinstance(parent, ast.Attribute) and parent.value is node:
            call = parents.get(parent)
            if parent.attr == "get" and isinstance(call, ast.Call) and call.args and _constant(call.args[0]):
                columns.add(call.args[0].value)
            elif isinstance(call, ast.Call) and call.func is parent:
                return None  # another method of the row: it may read any column
            else:
                columns.add(parent.attr)
        else:
            return None
    return frozenset(columns)


def _constant(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)
