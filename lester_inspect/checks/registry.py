"""Checks by their kebab-case names (``no-bias-introduced-for``), for the command line and CI configuration."""
from __future__ import annotations

import inspect
import re
from typing import Any, Dict, Type

from lester_inspect import checks
from lester_inspect.checks.base import Check, CheckConfigurationError

__all__ = ["CheckConfigurationError", "available_checks", "make_check", "parse_check_option"]


def kebab_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def available_checks() -> Dict[str, Type[Check]]:
    return {kebab_case(name): getattr(checks, name) for name in checks.__all__
            if isinstance(getattr(checks, name), type) and issubclass(getattr(checks, name), Check)
            and getattr(checks, name) is not Check}


def make_check(name: str, parameters: Dict[str, Any]) -> Check:
    """The check called ``name`` with ``parameters``, or an error naming what is wrong."""
    known = available_checks()
    if name not in known:
        raise CheckConfigurationError(f"unknown check {name!r}; known checks: {', '.join(sorted(known))}")
    cls = known[name]
    accepted = [p for p in inspect.signature(cls).parameters if p != "self"]
    unknown = [key for key in parameters if key not in accepted]
    if unknown:
        raise CheckConfigurationError(f"{name}: unknown parameter {unknown[0]!r}; it takes "
                                      f"{', '.join(accepted) if accepted else 'no parameters'}")
    try:
        return cls(**parameters)
    except TypeError as error:
        raise CheckConfigurationError(f"{name}: {error}") from error


def parse_check_option(option: str) -> Check:
    """``NAME`` or ``NAME=a,b`` (the first parameter, a list for ``columns``) from the command line."""
    name, _, value = option.partition("=")
    if not value:
        return make_check(name, {})
    cls = available_checks().get(name)
    first = next((p for p in inspect.signature(cls).parameters), None) if cls else None
    if first is None:
        return make_check(name, {"?": value})
    argument: Any = value.split(",") if first.endswith(("columns", "names")) else _number_or_text(value)
    return make_check(name, {first: argument})


def _number_or_text(value: str) -> Any:
    # Not a number: the check itself refuses it, naming the parameter.
    try:
        return float(value)
    except ValueError:
        return value
