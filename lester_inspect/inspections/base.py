"""The Inspection interface: per-operator analyses that run while the pipeline runs."""
from __future__ import annotations

import abc
from typing import Any, Iterator


class Inspection(abc.ABC):
    """An analysis computed for every operator of the pipeline.

    Inspections are compared by type and parameters, so that the same inspection
    requested by the user and by a check runs once.
    """

    @abc.abstractmethod
    def visit_operator(self, inspection_input) -> Iterator[Any]:
        """Receive the operator's rows and yield one annotation per output row."""

    @abc.abstractmethod
    def get_operator_annotation_after_visit(self) -> Any:
        """The result for the operator just visited."""

    @property
    def parameters(self) -> tuple:
        """What distinguishes two inspections of the same type."""
        return tuple(sorted((k, _hashable(v)) for k, v in vars(self).items() if not k.startswith("_")))

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.parameters == other.parameters

    def __hash__(self) -> int:
        return hash((type(self), self.parameters))

    def __repr__(self) -> str:
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.parameters)
        return f"{type(self).__name__}({arguments})"


def _hashable(value: Any) -> Any:
    if isinstance(value, (list, set, frozenset)):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value
