"""What an inspected run returns: the DAG, inspection results, check results, and renderings."""
from __future__ import annotations

import os
import shutil
import subprocess
from typing import Dict, List, Optional

from lester_inspect.checks.base import Check, CheckResult, CheckStatus
from lester_inspect.inspections.base import Inspection
from lester_inspect.instrumentation.dag import DagNode
from lester_inspect.instrumentation.provenance_cuts import all_cuts
from lester_inspect.instrumentation.rows import ProvenanceCut


class GraphvizMissingError(RuntimeError):
    """Rendering the DAG as SVG/PNG needs Graphviz's ``dot`` program."""


class InspectorResult:
    """The extracted DAG with what inspections and checks found on it."""

    def __init__(self, dag, dag_node_to_inspection_results: Dict[DagNode, Dict[Inspection, object]],
                 check_to_check_results: Dict[Check, CheckResult], internal_errors: List[str] = (),
                 row_carriers: Dict[DagNode, DagNode] = None):
        # The run's ``Dag``; ``dag`` is it as a networkx graph, made when first asked for.
        self._graph = dag
        self._networkx = None
        self.dag_node_to_inspection_results = dag_node_to_inspection_results
        self.check_to_check_results = check_to_check_results
        #: Problems lester-inspect had with an operator (never the user's errors); the run went on.
        self.internal_errors = list(internal_errors)
        self._row_carriers = dict(row_carriers or {})
        #: What-if analysis -> its result frame (variant x metric), for the analyses asked for.
        self.what_if: Dict[object, "pandas.DataFrame"] = {}
        #: The fitted model and captured frames the variants ran from (``whatif.SharedExecution``).
        self.what_if_execution = None

    def row_carrier(self, node: DagNode) -> Optional[DagNode]:
        """The input whose rows ``node``'s rows are: its only input, or the fact side of a join.

        Known for the runs with inspections; None for operators that combine rows
        of several inputs (a concatenation) and for data sources.
        """
        return self._row_carriers.get(node)

    @property
    def dag(self) -> "networkx.DiGraph":
        """The extracted DAG as a networkx graph: ``DagNode`` nodes with their attributes, edges to each input."""
        if self._networkx is None:
            self._networkx = self._graph.to_networkx() if hasattr(self._graph, "to_networkx") else self._graph
        return self._networkx

    @property
    def provenance_cuts(self) -> List[ProvenanceCut]:
        """Every place where row provenance was cut (an untracked source, an unknown row mapping)."""
        return all_cuts(self._graph)

    @property
    def passed(self) -> bool:
        return all(r.status != CheckStatus.FAILURE for r in self.check_to_check_results.values())

    @property
    def nodes(self) -> List[DagNode]:
        """The operators in execution order."""
        return sorted(self._graph.nodes, key=lambda node: node.node_id)

    def parents(self, node: DagNode) -> List[DagNode]:
        """The inputs of ``node`` in argument order."""
        edges = self._graph.in_edges(node, data="input_index")
        return [parent for parent, _, _ in sorted(edges, key=lambda edge: edge[2])]

    def rows_to_fix(self, source: str, n: int = 10) -> "pandas.DataFrame":
        """The ``n`` rows of ``source`` of least data value (needs the ``DataValue`` inspection)."""
        from lester_inspect.inspections.screening import rows_to_fix

        return rows_to_fix(self, source, n)

    def check_results_frame(self) -> "pandas.DataFrame":
        """One row per check: the check, its status and its one-line reason."""
        import pandas as pd

        return pd.DataFrame([{"check": repr(check), "status": r.status.name, "description": r.description,
                              "operator": r.operator.node_id if r.operator else None}
                             for check, r in self.check_to_check_results.items()],
                            columns=["check", "status", "description", "operator"])

    def inspection_results_frame(self, inspection: Inspection) -> "pandas.DataFrame":
        """One row per operator with ``inspection``'s result for it."""
        import pandas as pd

        rows = []
        for node in self.nodes:
            results = self.dag_node_to_inspection_results.get(node, {})
            if inspection in results:
                rows.append({"operator": node.node_id, "type": node.operator_type.value,
                             "description": node.description,
                             "location": str(node.code_location) if node.code_location else None,
                             "result": results[inspection]})
        return pd.DataFrame(rows, columns=["operator", "type", "description", "location", "result"])

    def provenance_cuts_text(self) -> List[str]:
        """A heading and one line per provenance cut (location, call, reason); no lines without cuts."""
        cuts = self.provenance_cuts
        if not cuts:
            return []
        return [f"Row provenance is cut at {len(cuts)} place{'s' if len(cuts) > 1 else ''} "
                "(row-based results downstream are unknown):", *(f"  {cut}" for cut in cuts)]

    def summary(self) -> str:
        """A readable report of every failing or warning check (operator, code location, snippet) and every cut."""
        lines = []
        counts = {status: 0 for status in CheckStatus}
        for check, check_result in self.check_to_check_results.items():
            counts[check_result.status] += 1
            if check_result.status is CheckStatus.SUCCESS:
                continue
            lines.append(f"{check_result.status.name}: {check!r}")
            lines.append(f"  {check_result.description}")
            node = check_result.operator
            if node is not None and node.source_code:
                first_line = node.source_code.splitlines()[0]
                more = " ..." if "\n" in node.source_code else ""
                lines.append(f"  {node.code_location}: {first_line}{more}")
        lines.extend(self.provenance_cuts_text())
        if self.what_if:
            from lester_inspect.whatif import what_if_summary

            lines.extend(what_if_summary(self.what_if))
        lines.append(f"{len(self.check_to_check_results)} checks: {counts[CheckStatus.SUCCESS]} passed, "
                     f"{counts[CheckStatus.FAILURE]} failed, {counts[CheckStatus.WARNING]} warnings")
        return "\n".join(lines)

    def dag_text(self) -> str:
        """One operator per line: id, type, code location, description, inputs."""
        lines = []
        for node in self.nodes:
            location = str(node.code_location) if node.code_location else "-"
            inputs = ", ".join(str(p.node_id) for p in self.parents(node))
            lines.append(f"{node.node_id:>3}  {node.operator_type.value:<20} {location:<12} {node.description}"
                         + (f"  <- {inputs}" if inputs else ""))
        return "\n".join(lines)

    def dag_to_dot(self) -> str:
        lines = ["digraph pipeline {", '  node [shape=box, style="rounded,filled", fillcolor="#f4f6fb", '
                 'fontname="Helvetica", fontsize=10];']
        for node in self.nodes:
            label = f"{node.operator_type.value}\\n{_dot_escape(node.description)}"
            if node.code_location:
                label += f"\\n{node.code_location}"
            tooltip = _dot_escape(node.source_code)
            lines.append(f'  n{node.node_id} [label="{label}", tooltip="{tooltip}"];')
        for parent, child in self._graph.edges:
            lines.append(f"  n{parent.node_id} -> n{child.node_id};")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def save_dag(self, path: str) -> str:
        """Write the DAG as ``.dot``, ``.svg`` or ``.png``.

        SVG and PNG are drawn by Graphviz's ``dot`` where it is installed; without it, SVG
        is drawn by lester-inspect's own layout (as in the HTML report) and PNG is an error.
        """
        extension = os.path.splitext(path)[1].lower().lstrip(".")
        if extension == "dot":
            with open(path, "w", encoding="utf-8", errors="backslashreplace") as handle:
                handle.write(self.dag_to_dot())
            return path
        if extension not in ("svg", "png"):
            raise ValueError(f"{path}: cannot render a DAG as '.{extension}'; use .dot, .svg or .png")
        dot = shutil.which("dot")
        if dot is None and extension == "svg":
            from lester_inspect.report.svg import result_svg

            with open(path, "w", encoding="utf-8", errors="backslashreplace") as handle:
                handle.write(result_svg(self))
            return path
        if dot is None:
            raise GraphvizMissingError(
                f"cannot write {path}: a PNG needs Graphviz's 'dot' program, which is not installed "
                "(Debian/Ubuntu: apt-get install graphviz); .svg and .dot work without it")
        subprocess.run([dot, f"-T{extension}", "-o", path], input=self.dag_to_dot().encode("utf-8"),
                       check=True, capture_output=True)
        return path

    def _repr_html_(self) -> str:
        from lester_inspect.notebook import result_html

        return result_html(self)

    def __repr__(self) -> str:
        return (f"InspectorResult({self._graph.number_of_nodes()} operators, "
                f"{len(self.check_to_check_results)} checks, passed={self.passed})")


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
