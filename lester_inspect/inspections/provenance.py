"""Column provenance and matrix column provenance.

* ``ColumnProvenance``: for every column of every operator's output, the set of
  ``(source, source column)`` it was computed from. Projections and selections keep
  a column's provenance, renames carry it by position, computed columns (``df['t'] =
  f(df['a'])``, ``assign``, Series ``map``/``apply``/``.str``, row-wise UDFs read with
  ``ast``) union the provenance of what they read, aggregations that of their input
  column, and a transformer's outputs that of all its inputs. A column of an
  untracked source (and anything computed from it) is ``UnknownProvenance``.
* ``MatrixColumnProvenance``: for a featuriser's output (a ColumnTransformer or
  FeatureUnion concatenation, or a single transformer), which slices of the feature
  matrix each of its input columns produced — one-hot widths, nested pipelines,
  vectorisers, custom transformers by their output width.
"""
from __future__ import annotations

from typing import Dict, FrozenSet, Iterable, List, Optional, Tuple, Union

from lester_inspect.inspections.annotations import UnknownProvenance, unknown_of
from lester_inspect.inspections.base import OperatorData, VectorizedInspection
from lester_inspect.instrumentation.dag import DagNode, OperatorType

T = OperatorType
Provenance = Dict[str, Union[FrozenSet[Tuple[str, str]], UnknownProvenance]]


class ColumnProvenance(VectorizedInspection):
    """``{column: frozenset((source name, source column), ...)}`` for every operator."""

    def __init__(self):
        pass

    def inspect(self, operator: OperatorData) -> Provenance:
        node, parents = operator.node, operator.parents()
        if node.operator_type is T.DATA_SOURCE:
            cut = operator.dag.nodes[node].get("provenance_cut")
            if cut is not None:
                return {column: UnknownProvenance((cut,)) for column in node.columns}
            name = operator.source_names.get(node.node_id, f"source{node.node_id}")
            return {column: frozenset({(name, column)}) for column in node.columns}
        known = [(parent, operator.results.get(parent, {}).get(self) or {}) for parent in parents]
        derivations = operator.dag.nodes[node].get("derivations") or {}
        provenance = {}
        sources = operator.dag.nodes[node].get("column_sources")
        if sources is not None and len(sources) == len(node.columns):
            by_id = {parent.node_id: prov for parent, prov in known}
            columns_of = {parent.node_id: parent.columns for parent, _ in known}
            for column, reads in zip(node.columns, sources):
                provenance[column] = _union([provenance.get(column, frozenset()), *(
                    by_id[p].get(columns_of[p][k], frozenset()) for p, k in reads
                    if p in by_id and k < len(columns_of[p]))])
        for key, reads in derivations.items():
            provenance[str(key)] = _union((operator.results.get(p, {}).get(self) or {}).get(str(c), frozenset())
                                          for p, c in reads)
        rows_from = [(parent, prov) for parent, prov in known if parent.operator_type is not T.ESTIMATOR]
        if derivations:  # the other columns are the first input's (the frame); later inputs gave only values
            rows_from = rows_from[:1]
        flat = [(column, prov.get(column, frozenset())) for parent, prov in rows_from for column in parent.columns]
        for index, column in enumerate(node.columns):
            if column in provenance:
                continue
            by_name = [prov[column] for _, prov in rows_from if column in prov]
            if by_name:
                provenance[column] = _union(by_name)
            elif len(flat) == len(node.columns):  # renames, concatenations, one-to-one transformers
                provenance[column] = flat[index][1]
            else:  # an encoder's ``county_c2`` reads ``county``; a mixing transformer reads all its inputs
                readers = _assign([column], [c for c, _ in flat])
                provenance[column] = _union(p for c, p in flat if c in readers)
        return provenance


def _union(parts: Iterable) -> Union[FrozenSet[Tuple[str, str]], UnknownProvenance]:
    """The union of column provenances; unknown if any of them is."""
    parts = list(parts)
    return unknown_of(parts) or frozenset().union(*parts)


class MatrixColumnProvenance(VectorizedInspection):
    """``{input column: [(start, stop), ...]}``: the feature-matrix column ranges each input column fed.

    Computed where a featuriser produces a matrix: at the concatenation of a
    ColumnTransformer or FeatureUnion, at transformers, and at matrices made from
    matrices (feature selection, numpy stacks). A node's ``column_sources`` attribute
    (per output column, the ``(parent node id, parent column)`` it is made of) is
    followed where a backend recorded it; otherwise output columns are matched to
    their input's by name, and a name that matches none reads every input column.
    """

    def __init__(self):
        pass

    def inspect(self, operator: OperatorData) -> Optional[Dict[str, List[Tuple[int, int]]]]:
        node = operator.node
        sources = operator.dag.nodes[node].get("column_sources")
        if sources is not None:
            return self._compose(operator, sources)
        if node.operator_type is T.CONCATENATION and node.function.name.split(".")[0] in (
                "ColumnTransformer", "FeatureUnion"):
            ranges: Dict[str, List[int]] = {}
            offset = 0
            for branch in operator.parents():
                known = (operator.results.get(branch, {}).get(self)
                         if branch.operator_type is T.TRANSFORMER else None)
                positions = ({c: [p for a, b in r for p in range(a, b)] for c, r in known.items()}
                             if known is not None else _branch_positions(operator.dag, branch))
                for column, found in positions.items():
                    ranges.setdefault(column, []).extend(offset + p for p in found)
                offset += len(branch.columns)
            return {column: _as_ranges(positions) for column, positions in ranges.items()}
        if node.operator_type is T.TRANSFORMER and node.columns:
            parents = operator.parents()
            if not parents:
                return None
            if operator.results.get(parents[0], {}).get(self) is not None:
                by_name = _assign(node.columns, list(parents[0].columns))
                reads: List[list] = [[] for _ in node.columns]
                for column, positions in by_name.items():
                    for position in positions:
                        reads[position].append((parents[0].node_id, list(parents[0].columns).index(column)))
                return self._compose(operator, reads)
            if parents[0].operator_type is not T.TRANSFORMER:
                return {c: _as_ranges(p) for c, p in _assign(node.columns, list(parents[0].columns)).items()}
        return None

    def _compose(self, operator: OperatorData, sources) -> Dict[str, List[Tuple[int, int]]]:
        parents = {parent.node_id: parent for parent in operator.parents()}
        positions: Dict[str, List[int]] = {}
        for index, reads in enumerate(sources):
            for node_id, column in reads:
                parent = parents.get(node_id)
                if parent is None:
                    continue
                for name in self._columns_at(operator, parent, column):
                    positions.setdefault(name, []).append(index)
        return {column: _as_ranges(found) for column, found in positions.items()}

    def _columns_at(self, operator: OperatorData, parent: DagNode, position: int) -> List[str]:
        """The input columns behind column ``position`` of ``parent``'s matrix (its own name for a frame)."""
        known = operator.results.get(parent, {}).get(self)
        if known is not None:
            return [c for c, ranges in known.items() if any(a <= position < b for a, b in ranges)]
        return [parent.columns[position]] if position < len(parent.columns) else []


def _branch_positions(dag, branch: DagNode) -> Dict[str, List[int]]:
    """Input column -> positions within the branch's output, through the branch's steps."""
    selection = branch
    while selection.operator_type is T.TRANSFORMER:
        parents = sorted(dag.in_edges(selection, data="input_index"), key=lambda edge: edge[2])
        if not parents:
            break
        selection = parents[0][0]
    return _assign(branch.columns, list(selection.columns))


def _assign(features, inputs) -> Dict[str, List[int]]:
    """Which input column each output feature comes from, by name (``county_c2`` from ``county``).

    Features whose name names no input column (a vectoriser's tokens, a PCA component)
    are attributed to every input column of the branch.
    """
    positions: Dict[str, List[int]] = {}
    for index, feature in enumerate(features):
        matches = [c for c in inputs if feature == c or feature.startswith(f"{c}_")]
        for column in ([max(matches, key=len)] if matches else inputs):
            positions.setdefault(column, []).append(index)
    return positions


def _as_ranges(positions: List[int]) -> List[Tuple[int, int]]:
    ranges: List[Tuple[int, int]] = []
    for position in sorted(set(positions)):
        if ranges and ranges[-1][1] == position:
            ranges[-1] = (ranges[-1][0], position + 1)
        else:
            ranges.append((position, position + 1))
    return ranges
