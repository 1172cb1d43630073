"""The Check interface: a verdict over the DAG and the inspection results."""
from __future__ import annotations

import abc
import dataclasses
import enum
from typing import TYPE_CHECKING, Dict, Iterable, Optional

from lester_inspect.parameters import Parameterized

if TYPE_CHECKING:
    import pandas

    from lester_inspect.inspections.base import Inspection
    from lester_inspect.instrumentation.dag import DagNode
    from lester_inspect.result import InspectorResult


class CheckConfigurationError(ValueError):
    """A check that cannot be evaluated as configured: an unknown name or parameter, a value out of
    range, a column that never appears in the pipeline. The message is one line naming the value."""


class CheckStatus(enum.Enum):
    SUCCESS = "success"
    FAILURE = "failure"
    WARNING = "warning"


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """The verdict of one check: status, a one-line reason and detail tables."""

    check: "Check"
    status: CheckStatus
    description: str
    details: Dict[str, "pandas.DataFrame"] = dataclasses.field(default_factory=dict)
    operator: Optional["DagNode"] = None

    def _repr_html_(self) -> str:
        from lester_inspect.notebook import check_result_html

        return check_result_html(self)


class Check(Parameterized, abc.ABC):
    """A condition on the pipeline. Declares the inspections it needs; evaluates their results.

    Checks are compared by type and parameters (``result.check_to_check_results[NoIllegalFeatures()]``).
    """

    @property
    def required_inspections(self) -> Iterable["Inspection"]:
        return ()

    def configuration_errors(self, result: "InspectorResult") -> Iterable[str]:
        """What, seen after the run, makes this check's configuration wrong (e.g. a column no operator has)."""
        return ()

    @abc.abstractmethod
    def evaluate(self, result: "InspectorResult") -> CheckResult:
        """Judge the pipeline from the DAG and the inspection results."""

