"""Value semantics for inspections and checks: equal when of one type with equal parameters."""
from __future__ import annotations

from typing import Any


class Parameterized:
    """Compared, hashed and shown by type and public attributes (the constructor's parameters).

    So the same inspection asked for by the user and by a check runs once, and a
    result can be looked up with a freshly built ``NoBiasIntroducedFor(['race'])``.
    """

    @property
    def parameters(self) -> tuple:
        return tuple(sorted((k, _hashable(v)) for k, v in vars(self).items() if not k.startswith("_")))

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.parameters == other.parameters

    def __hash__(self) -> int:
        # Cached: the executor hashes every inspection for every operator. Parameters are set once.
        cached = self.__dict__.get("_hash")
        if cached is None:
            cached = self.__dict__["_hash"] = hash((type(self), self.parameters))
        return cached

    def __repr__(self) -> str:
        arguments = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({arguments})"


def _hashable(value: Any) -> Any:
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return tuple(_hashable(v) for v in items)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value
