"""The dataflow DAG: operator types, code locations and immutable nodes."""
from __future__ import annotations

import dataclasses
import enum
from typing import NamedTuple, Optional, Tuple


class OperatorType(enum.Enum):
    """What an operator does to the rows and columns flowing through it.

    Follows Table 1 of the mlinspect paper, plus SORT and RESHAPE for pandas
    operations that reorder or duplicate rows without selecting them.
    """

    DATA_SOURCE = "Data Source"
    PROJECTION = "Projection"
    PROJECTION_MODIFY = "Projection (Modify)"
    SELECTION = "Selection"
    SORT = "Sort"
    RESHAPE = "Reshape"
    JOIN = "Join"
    GROUP_BY_AGG = "Group By/Aggregate"
    CONCATENATION = "Concatenation"
    TRAIN_TEST_SPLIT = "Train/Test Split"
    TRANSFORMER = "Transformer"
    ESTIMATOR = "Estimator"
    TRAIN_DATA = "Train Data"
    TRAIN_LABELS = "Train Labels"
    TEST_DATA = "Test Data"
    TEST_LABELS = "Test Labels"
    PREDICT = "Predict"
    SCORE = "Score"


class CodeLocation(NamedTuple):
    """Where in the user's source an operator was called (1-based lines, 0-based byte columns).

    ``file`` is None for the pipeline file itself and the path of another user
    module (a helper imported from the pipeline's folder) otherwise. In a notebook,
    ``lineno`` counts lines of the cells' concatenated code and ``cell`` /
    ``cell_lineno`` say where that is for the user: the cell's number among all the
    notebook's cells (1-based, markdown included) and the line within it.
    """

    lineno: int
    col_offset: int
    end_lineno: int
    end_col_offset: int
    file: Optional[str] = None
    cell: Optional[int] = None
    cell_lineno: Optional[int] = None

    def __str__(self) -> str:
        if self.cell is not None:
            return f"cell {self.cell}, line {self.cell_lineno}:{self.col_offset}"
        where = f"{self.file}:" if self.file else "line "
        return f"{where}{self.lineno}:{self.col_offset}"


class FunctionInfo(NamedTuple):
    """The patched API behind an operator, e.g. ``('pandas.core.frame', 'DataFrame.merge')``."""

    module: str
    name: str

    def __str__(self) -> str:
        return f"{self.module}.{self.name}"


@dataclasses.dataclass(frozen=True, slots=True)
class DagNode:
    """One operator of the extracted pipeline, in execution order (``node_id``)."""

    node_id: int
    operator_type: OperatorType
    function: FunctionInfo
    code_location: Optional[CodeLocation]
    source_code: str
    description: str
    columns: Tuple[str, ...]

    def __hash__(self) -> int:
        # The id alone: nodes are hashed several times per operator, and ids are unique within a run.
        return self.node_id

    def __str__(self) -> str:
        where = f" ({self.code_location})" if self.code_location else ""
        return f"{self.node_id}: {self.operator_type.value}: {self.description}{where}"


class _NodeView:
    """``dag.nodes``: iteration in insertion order, ``nodes[node]`` (its attribute dict), ``nodes(data=key)``."""

    __slots__ = ("_attributes",)

    def __init__(self, attributes: dict):
        self._attributes = attributes

    def __getitem__(self, node) -> dict:
        return self._attributes[node]

    def __iter__(self):
        return iter(self._attributes)

    def __len__(self) -> int:
        return len(self._attributes)

    def __contains__(self, node) -> bool:
        return node in self._attributes

    def __call__(self, data=None):
        if data is None:
            return iter(self._attributes)
        return ((node, attributes.get(data)) for node, attributes in self._attributes.items())


class Dag:
    """A run's DAG: its nodes with their attributes and their input edges, with the part of networkx'
    ``DiGraph`` interface the runtime uses.

    networkx itself is imported only when a networkx graph is asked for (``to_networkx``,
    ``InspectorResult.dag``): its import alone costs about 0.1 s of CPU, half of what a run
    adds before the pipeline's first operator.
    """

    def __init__(self, **graph):
        self.graph = dict(graph)
        self._attributes: dict = {}
        self._parents: dict = {}  # node -> {parent: edge attributes}, in input order
        self._children: dict = {}
        self.nodes = _NodeView(self._attributes)

    def add_node(self, node, **attributes) -> None:
        if node in self._attributes:
            self._attributes[node].update(attributes)
            return
        self._attributes[node] = attributes
        self._parents[node] = {}
        self._children[node] = {}

    def add_edge(self, parent, child, **attributes) -> None:
        for node in (parent, child):
            if node not in self._attributes:
                self.add_node(node)
        self._parents[child][parent] = self._children[parent][child] = attributes

    def predecessors(self, node):
        return iter(self._parents[node])

    def successors(self, node):
        return iter(self._children[node])

    def in_edges(self, node, data=None):
        parents = self._parents[node]
        if data is None:
            return [(parent, node) for parent in parents]
        return [(parent, node, attributes.get(data)) for parent, attributes in parents.items()]

    @property
    def edges(self):
        return [(parent, child) for child, parents in self._parents.items() for parent in parents]

    def out_degree(self, node) -> int:
        return len(self._children[node])

    def number_of_nodes(self) -> int:
        return len(self._attributes)

    def number_of_edges(self) -> int:
        return sum(len(parents) for parents in self._parents.values())

    def __contains__(self, node) -> bool:
        return node in self._attributes

    def __iter__(self):
        return iter(self._attributes)

    def __len__(self) -> int:
        return len(self._attributes)

    def to_networkx(self):
        """The same graph as a ``networkx.DiGraph`` (nodes in insertion order, with their attributes)."""
        import networkx as nx

        graph = nx.DiGraph(**self.graph)
        graph.add_nodes_from(self._attributes.items())
        graph.add_edges_from((parent, child, attributes) for child, parents in self._parents.items()
                             for parent, attributes in parents.items())
        return graph


def ancestors(dag, node) -> set:
    """The nodes ``node`` was computed from (not itself), in a ``Dag`` or a networkx graph."""
    found, waiting = set(), list(dag.predecessors(node))
    while waiting:
        parent = waiting.pop()
        if parent not in found:
            found.add(parent)
            waiting.extend(dag.predecessors(parent))
    return found
