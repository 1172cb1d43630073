"""Short, readable renderings of argument values for operator descriptions."""
from __future__ import annotations

from typing import Any

_LIMIT = 60


def short_repr(value: Any, limit: int = _LIMIT) -> str:
    if callable(value) and not isinstance(value, type):
        name = getattr(value, "__name__", type(value).__name__)
        return "lambda" if name == "<lambda>" else name
    if isinstance(value, type):
        return value.__name__
    if hasattr(value, "shape") and not isinstance(value, (str, bytes)) and getattr(value, "ndim", 0) > 0:
        return f"{type(value).__name__}{tuple(value.shape)}"
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def column_list(columns: Any) -> str:
    if isinstance(columns, (list, tuple)) or hasattr(columns, "tolist"):
        return short_repr(list(columns))
    return short_repr([columns])


def key_text(key: Any) -> str:
    """A subscript's key as written: ``1:3``, ``by boolean mask``, ``'a'``."""
    if isinstance(key, slice):
        return ":".join("" if v is None else str(v) for v in (key.start, key.stop)) + (
            f":{key.step}" if key.step is not None else "")
    if getattr(key, "dtype", None) == bool and getattr(key, "ndim", 0) > 0:
        return "by boolean mask"
    return short_repr(key)
