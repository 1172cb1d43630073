"""Checking a check's parameters when it is built, so that a typo is an error and never a SUCCESS."""
from __future__ import annotations

import math
import numbers
from typing import Any, Callable, List

from lester_inspect.checks.base import CheckConfigurationError


def column_names(check: Any, parameter: str, value: Any, may_be_empty: bool = False) -> List[str]:
    """A list of column names (a single string is refused: it is not a list of its letters)."""
    name = type(check).__name__
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise CheckConfigurationError(f"{name}: {parameter} must be a list of column names, got {value!r}")
    columns = list(value)
    if not columns and not may_be_empty:
        raise CheckConfigurationError(f"{name}: {parameter} must name at least one column")
    wrong = [c for c in columns if not isinstance(c, str)]
    if wrong:
        raise CheckConfigurationError(f"{name}: {parameter} must be column names (strings), got {wrong[0]!r}")
    return columns


def number(check: Any, parameter: str, value: Any, allowed: Callable[[float], bool], described: str) -> float:
    """A real number (not a bool, not NaN) for which ``allowed`` holds; ``described`` says which ones."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value) or not allowed(value):
        raise CheckConfigurationError(f"{type(check).__name__}: {parameter} must be a number {described}, "
                                      f"got {value!r}")
    return value
