"""The two kinds of inspection, and what each sees of an operator.

* ``Inspection`` is the row-wise protocol of mlinspect: ``visit_operator`` is a
  generator over the operator's rows that yields one annotation per output row;
  ``get_operator_annotation_after_visit`` returns the operator's result. All
  row-wise inspections share one scan per operator.
* ``VectorizedInspection`` (the built-ins) declares the annotation columns it
  needs and computes its result from whole arrays, with no Python loop per row.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, Iterator, List, NamedTuple, Optional, Tuple

from lester_inspect.instrumentation.dag import DagNode
from lester_inspect.parameters import Parameterized


class InspectionRow(NamedTuple):
    """One output row with the input rows it came from and their annotations (one per input)."""

    inputs: Tuple[Any, ...]
    annotations: Tuple[Any, ...]
    output: Any


class InspectionInput(NamedTuple):
    """What ``visit_operator`` receives: the operator and an iterator over its rows.

    For a data source ``inputs`` and ``annotations`` are empty; for an operator
    without output rows (an estimator's fit, a score) ``output`` is None and there
    is one row per input row.
    """

    operator: DagNode
    input_columns: Tuple[Tuple[str, ...], ...]
    output_columns: Tuple[str, ...]
    row_iterator: Iterator[InspectionRow]


class Inspection(Parameterized):
    """Base of every inspection. Subclass it and implement the row-wise protocol.

    Inspections are compared by type and parameters, so that the same inspection
    requested by the user and by a check runs once.
    """

    def visit_operator(self, inspection_input: InspectionInput) -> Iterator[Any]:
        """Consume ``inspection_input.row_iterator``; yield one annotation per output row."""
        raise NotImplementedError(f"{type(self).__name__} must implement visit_operator()")

    def get_operator_annotation_after_visit(self) -> Any:
        """The result for the operator just visited."""
        raise NotImplementedError(f"{type(self).__name__} must implement get_operator_annotation_after_visit()")


class OperatorData(NamedTuple):
    """What a vectorised inspection sees of one operator.

    ``data`` holds the operator's rows: its output, or for an operator without
    output rows (fit, score, train/test data markers) the input whose rows it
    consumes. ``annotations`` are aligned with those rows (None where unknown).
    """

    node: DagNode
    data: Any
    annotations: Optional[Dict]
    arguments: Optional[Dict[str, Any]]
    source_names: Dict[int, str]
    source_sizes: Dict[int, int]
    #: The DAG so far (node attributes: ``derivations``, ``source_path``) and every result so far.
    dag: Any = None
    results: Optional[Dict[DagNode, Dict[Any, Any]]] = None
    #: The operator's inputs (``Input``: node, data, row mapping) and output object.
    inputs: Tuple[Any, ...] = ()
    output: Any = None
    #: The annotations propagated to any live object (None when it has none).
    annotations_of: Any = None

    def parents(self) -> List[DagNode]:
        edges = self.dag.in_edges(self.node, data="input_index")
        return [parent for parent, _, _ in sorted(edges, key=lambda edge: edge[2])]


class VectorizedInspection(Inspection):
    """An inspection computed from whole annotation arrays (see ``annotations.py``)."""

    @property
    def annotation_keys(self) -> Iterable[tuple]:
        """The annotation columns this inspection reads."""
        return ()

    @property
    def required_inspections(self) -> Iterable["VectorizedInspection"]:
        """Inspections whose results (``operator.results``) this one reads; they run first."""
        return ()

    def inspect(self, operator: OperatorData) -> Any:
        """The result for one operator (None: nothing to report for it)."""
        raise NotImplementedError


class Deferred:
    """A result an inspection hands over unbuilt: ``compute()`` builds it when somebody reads it.

    Building a small DataFrame per operator costs as much as the operator itself in a
    loop of small pandas calls; most per-operator results are never looked at. What
    ``function`` reads (``args``) must be fixed at the operator (copies, immutable
    annotations), not the live object. A module-level function and its arguments, not a
    closure: thousands of them are kept, and every object kept makes garbage collection dearer.
    """

    __slots__ = ("function", "args")

    def __init__(self, function: Callable[..., Any], *args: Any):
        self.function = function
        self.args = args

    def compute(self) -> Any:
        return self.function(*self.args)


class Results(dict):
    """One operator's ``{inspection: result}``; ``Deferred`` results are built on first read."""

    def __getitem__(self, inspection):
        value = dict.__getitem__(self, inspection)
        if isinstance(value, Deferred):
            value = value.compute()
            dict.__setitem__(self, inspection, value)
        return value

    def get(self, inspection, default=None):
        return self[inspection] if inspection in self else default

    def values(self):
        return [self[key] for key in self]

    def items(self):
        return [(key, self[key]) for key in self]

    def __eq__(self, other):
        return dict(self.items()) == (dict(other.items()) if isinstance(other, dict) else other)

    __hash__ = None

    def __repr__(self) -> str:
        return repr(dict(self.items()))


def data_columns(data: Any) -> List:
    columns = getattr(data, "columns", None)
    if columns is not None:
        return list(columns)
    name = getattr(data, "name", None)
    return [name] if name is not None else []
