"""What the reporters read: per pipeline, its verdicts (checks and model conditions) and result."""
from __future__ import annotations

import dataclasses
import enum
import re
from typing import TYPE_CHECKING, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

if TYPE_CHECKING:
    import pandas

    from lester_inspect.checks.base import Check
    from lester_inspect.instrumentation.dag import DagNode
    from lester_inspect.result import InspectorResult


class Status(enum.Enum):
    """A verdict's outcome, in increasing severity (``SKIPPED`` counts as passing)."""

    PASSED = "passed"
    SKIPPED = "skipped"
    WARNING = "warning"
    FAILED = "failed"
    ERROR = "error"

    @property
    def severity(self) -> int:
        return {"passed": 0, "skipped": 0, "warning": 1, "failed": 2, "error": 3}[self.value]


@dataclasses.dataclass(frozen=True)
class Verdict:
    """One check or model condition of one pipeline, with a one-line reason."""

    name: str
    kind: str  # "check" or "condition"
    status: Status
    message: str
    operator: Optional["DagNode"] = None
    details: Mapping[str, "pandas.DataFrame"] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class PipelineReport:
    """A pipeline's verdicts; ``result`` is the (partial, when it raised) inspected run."""

    name: str
    path: str
    verdicts: List[Verdict]
    result: Optional["InspectorResult"] = None
    error: Optional[str] = None
    seconds: float = 0.0

    @property
    def status(self) -> Status:
        if self.error is not None:
            return Status.ERROR
        return worst(v.status for v in self.verdicts)


def split_details(verdict: Verdict) -> Tuple[Dict[str, "pandas.DataFrame"], Dict[str, "pandas.DataFrame"]]:
    """The detail tables about the operator a failing or warning verdict blames, and the others.

    Checks name a table after the operator it is about (``"7: race"``); the other
    operators' tables show what the check found fine.
    """
    node = verdict.operator
    blamed = f"{node.node_id}:" if node is not None and verdict.status is not Status.PASSED else None
    about = {k: v for k, v in verdict.details.items() if blamed is not None and str(k).startswith(blamed)}
    return about, {k: v for k, v in verdict.details.items() if k not in about}


def worst(statuses: Iterable[Status]) -> Status:
    return max(statuses, key=lambda s: s.severity, default=Status.PASSED)


def check_name(check: "Check") -> str:
    from lester_inspect.checks.registry import kebab_case

    return kebab_case(type(check).__name__)


def check_verdicts(result: "InspectorResult", names: Optional[Mapping["Check", str]] = None) -> List[Verdict]:
    """The check results of ``result`` as verdicts, named by ``names`` or by their kebab-case names."""
    from lester_inspect.checks.base import CheckStatus

    statuses = {CheckStatus.SUCCESS: Status.PASSED, CheckStatus.FAILURE: Status.FAILED,
                CheckStatus.WARNING: Status.WARNING}
    labels = dict(names or unique_check_names(result.check_to_check_results))
    return [Verdict(labels[check], "check", statuses[r.status], r.description, r.operator, dict(r.details))
            for check, r in result.check_to_check_results.items()]


def unique_check_names(checks: Iterable["Check"]) -> Dict["Check", str]:
    """Kebab-case names, with the parameters added where one check type appears twice."""
    checks = list(checks)
    counts: Dict[str, int] = {}
    for check in checks:
        counts[check_name(check)] = counts.get(check_name(check), 0) + 1
    named = {}
    for check in checks:
        name = check_name(check)
        if counts[name] > 1:
            name += "(" + ", ".join(f"{k}={v!r}" for k, v in check.parameters) + ")"
        named[check] = name
    return named


_OPERATOR_PREFIX = re.compile(r"^(\d+)\s*:")


def operator_statuses(result: "InspectorResult", verdicts: Sequence[Verdict]) -> Dict["DagNode", Status]:
    """The worst status of the verdicts touching each operator.

    A verdict touches the operator it blames, with its own status, and the operators its
    detail tables are about (named ``"<id>: ..."`` by the checks), which it found fine.
    """
    by_id = {node.node_id: node for node in result.dag.nodes}
    touched: Dict["DagNode", Status] = {}

    def touch(node: "DagNode", status: Status) -> None:
        if node not in touched or status.severity > touched[node].severity:
            touched[node] = status

    for verdict in verdicts:
        for name in verdict.details:
            match = _OPERATOR_PREFIX.match(str(name))
            if match and int(match.group(1)) in by_id:
                touch(by_id[int(match.group(1))], Status.PASSED)
        if verdict.operator is not None and verdict.operator in result.dag:
            touch(verdict.operator, verdict.status)
    return touched

