"""Readable descriptions of Spark column expressions: ``county IN ('c2', 'c3')``, ``a > 3``.

Spark renders an unresolved ``Column`` in prefix form (``>(a, 3)``,
``in(county, 'c2')``); operators are turned back into infix here.
"""
from __future__ import annotations

import re
from typing import Any, List, Tuple

from lester_inspect.backends.formatting import short_repr

_CALL = re.compile(r"[^\s(),']+\(")
_INFIX = {">", "<", ">=", "<=", "=", "==", "!=", "<=>", "+", "-", "*", "/", "%", "and", "or", "AND", "OR", "&&", "||"}


def describe(value: Any) -> str:
    """A column, a column name, a SQL string or a list of them, as text."""
    if isinstance(value, (list, tuple)):
        return ", ".join(describe(v) for v in value)
    if isinstance(value, str):
        return value
    java = getattr(value, "_jc", None)
    if java is not None:
        try:
            return infix(str(java.toString()))
        except Exception:  # a rendering we cannot parse is shown as Spark prints it
            return str(value)
    return short_repr(value)


def infix(text: str) -> str:
    """``text`` with every call of an operator in it (``>(a, 3)``) written infix (``a > 3``)."""
    out, position = [], 0
    while position < len(text):
        if text[position] == "'":
            end = text.index("'", position + 1) + 1
        elif (position == 0 or text[position - 1] in " (,") and _CALL.match(text, position):
            try:
                rendered, end = _parse(text, position)
            except (IndexError, ValueError):
                return text
            out.append(rendered)
            position = end
            continue
        else:
            end = position + 1
        out.append(text[position:end])
        position = end
    return "".join(out)


def _parse(text: str, start: int) -> Tuple[str, int]:
    """One expression from ``start``: a literal/name, or ``name(arg, ...)``; returns (text, end)."""
    position = start
    while position < len(text) and text[position] not in "(), ":
        if text[position] == "'":
            position = text.index("'", position + 1)
        position += 1
    head = text[start:position]
    if position < len(text) and text[position] == "(" and not head.strip():
        end = _closing(text, position)  # a parenthesised operand: "(1 + 2)"
        return f"({infix(text[position + 1:end])})", end + 1
    if position >= len(text) or text[position] != "(" or not head.strip():
        if position == start:
            raise ValueError(f"cannot read an expression at {start} of {text!r}")
        return head.strip(), position
    arguments: List[str] = []
    position += 1
    while text[position] != ")":
        argument, position = _parse(text, position)
        tail = position
        while text[tail] not in ",)":  # the rest of an argument such as "x AS double"
            tail = _closing(text, tail) + 1 if text[tail] == "(" else (
                text.index("'", tail + 1) + 1 if text[tail] == "'" else tail + 1)
        arguments.append(argument + text[position:tail])
        position = tail
        if text[position] == ",":
            position += 1
            while text[position] == " ":
                position += 1
    position += 1
    name = head.strip()
    if name in _INFIX and len(arguments) == 2:
        left, right = (_grouped(a) for a in arguments)
        return f"{left} {name.upper() if name.isalpha() else name} {right}", position
    if name == "in" and arguments:
        return f"{arguments[0]} IN ({', '.join(arguments[1:])})", position
    if name in ("not", "NOT") and len(arguments) == 1:
        return f"NOT {arguments[0]}", position
    return f"{name}({', '.join(arguments)})", position


def _closing(text: str, start: int) -> int:
    """The position of the parenthesis closing the one at ``start``."""
    depth, position = 0, start
    while True:
        if text[position] == "'":
            position = text.index("'", position + 1)
        elif text[position] == "(":
            depth += 1
        elif text[position] == ")":
            depth -= 1
            if depth == 0:
                return position
        position += 1


def _grouped(argument: str) -> str:
    """An operand that is itself an operation, in parentheses (``(a > 1) AND (b < 2)``)."""
    return f"({argument})" if " " in argument and not argument.startswith(("'", "(")) else argument
