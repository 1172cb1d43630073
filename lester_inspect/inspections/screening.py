"""What the screening checks read: the model's training and test data with their provenance, personal data
in the sources, and the value of every training (and source) row for the test accuracy (KNN-Shapley)."""
from __future__ import annotations

import dataclasses
import re
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Tuple

import numpy as np
import pandas as pd

from lester_inspect.inspections.annotations import LINEAGE, Factor, UnknownProvenance, value_key
from lester_inspect.inspections.base import OperatorData, VectorizedInspection
from lester_inspect.inspections.provenance import ColumnProvenance, MatrixColumnProvenance
from lester_inspect.instrumentation.dag import DagNode, OperatorType, ancestors

T = OperatorType
SourceColumns = FrozenSet[Tuple[str, str]]


@dataclasses.dataclass
class ModelData:
    """The rows a model was fitted on (at its ESTIMATOR node) or scored on (at a SCORE / predict node).

    ``lineage`` maps a source name to the source row of every row (-1: none); sources that reach the rows only
    through an aggregate are listed in ``aggregated_sources`` and get no row. ``feature_sources`` holds, per
    matrix column, the source columns it was computed from; it is None (and ``provenance_gap`` says why)
    where the matrix columns could not be traced.
    """

    node: DagNode
    model_node: DagNode
    X: Any
    y: Optional[np.ndarray]
    lineage: Dict[str, np.ndarray]
    aggregated_sources: List[str]
    feature_names: List[str]
    feature_sources: Optional[List[SourceColumns]]
    provenance_gap: Optional[str] = None
    predictions: Optional[np.ndarray] = None
    #: The source columns the labels were computed from (at a fit with labels).
    label_sources: SourceColumns = frozenset()
    #: The fitted model (at a fit).
    model: Any = None


class ModelInputs(VectorizedInspection):
    """``ModelData`` at every estimator's fit and at every ``score`` / ``predict`` of a fitted estimator."""

    def __init__(self):
        pass

    @property
    def annotation_keys(self):
        return (LINEAGE,)

    @property
    def required_inspections(self):
        return (ColumnProvenance(), MatrixColumnProvenance())

    def inspect(self, operator: OperatorData) -> Optional[ModelData]:
        node = operator.node
        if node.operator_type is T.ESTIMATOR and operator.inputs:
            model_node, y = node, operator.inputs[1].data if len(operator.inputs) > 1 else None
            predictions = None
        elif node.operator_type is T.SCORE or (node.operator_type is T.PREDICT and node.description.endswith(
                ": predict")):
            model_node = next((i.node for i in operator.inputs if i.node is not None
                               and i.node.operator_type is T.ESTIMATOR), None)
            if model_node is None:
                return None
            model = next(i.data for i in operator.inputs if i.node is model_node)
            X = operator.inputs[0].data
            is_score = node.operator_type is T.SCORE
            y = operator.inputs[1].data if is_score and len(operator.inputs) > 2 else None
            predictions = _array(model.predict(X) if is_score else operator.output)
        else:
            return None
        X, matrix_node = operator.inputs[0].data, operator.inputs[0].node
        lineage, aggregated = _lineage(operator.annotations_of(X), operator.source_names)
        names, sources, gap = _feature_sources(operator, matrix_node, X)
        labels = frozenset()
        if node.operator_type is T.ESTIMATOR and len(operator.inputs) > 1 and operator.inputs[1].node is not None:
            provenance = operator.results.get(operator.inputs[1].node, {}).get(ColumnProvenance()) or {}
            labels = frozenset().union(*provenance.values())
        return ModelData(node, model_node, X, _array(y), lineage, aggregated, names, sources, gap, predictions,
                         labels, operator.output if node.operator_type is T.ESTIMATOR else None)


class _SourceRows(VectorizedInspection):
    """``{source name: the source rows}`` of the rows at the operators ``at(node)`` selects."""

    def __init__(self):
        pass

    @property
    def annotation_keys(self):
        return (LINEAGE,)

    def at(self, node: DagNode) -> bool:
        raise NotImplementedError

    def inspect(self, operator: OperatorData) -> Optional[Dict[str, np.ndarray]]:
        if not self.at(operator.node):
            return None
        lineage, _ = _lineage(operator.annotations, operator.source_names)
        return {source: np.flatnonzero(row_mask(ids)) for source, ids in lineage.items()}


def row_mask(ids: np.ndarray, size: int = 0) -> np.ndarray:
    """A boolean array over source rows, True at ``ids`` (-1, no row, ignored), at least ``size`` long.

    Source row ids are bounded by the source's size, so a mask replaces ``np.unique`` / ``intersect1d``
    (sorting or hashing 750k ids cost about a second each at 1M rows).
    """
    ids = ids[ids >= 0]
    mask = np.zeros(max(size, int(ids.max()) + 1 if len(ids) else 0), dtype=bool)
    mask[ids] = True
    return mask


class FittedRows(_SourceRows):
    """At every transformer's ``fit`` / ``fit_transform``: ``{source name: the source rows it was fitted on}``."""

    def at(self, node: DagNode) -> bool:
        return node.operator_type is T.TRANSFORMER and ": fit" in node.description


SEARCH_FIT = re.compile(r"SearchCV\.fit$")


class SearchRows(_SourceRows):
    """At the training data of a hyperparameter search's ``fit`` (``GridSearchCV``, ``RandomizedSearchCV``,
    ``HalvingGridSearchCV``, ...): ``{source name: its source rows}``. The search cross-validates on them, so
    each is a validation row of one of its folds (its folds run inside scikit-learn, not in the DAG)."""

    def at(self, node: DagNode) -> bool:
        return node.operator_type is T.TRAIN_DATA and bool(SEARCH_FIT.search(node.function.name))


def _array(values) -> Optional[np.ndarray]:
    if values is None:
        return None
    array = np.asarray(values)
    return array.ravel() if array.ndim == 2 and array.shape[1] == 1 else array


def _lineage(annotations: Optional[Dict], names: Dict[int, str]) -> Tuple[Dict[str, np.ndarray], List[str]]:
    lineage = (annotations or {}).get(LINEAGE)
    if isinstance(lineage, UnknownProvenance):  # below a provenance cut: no source rows are known
        lineage = None
    rows: Dict[str, np.ndarray] = {}
    aggregated: set = set()
    for factor in (lineage.factors if lineage is not None else ()):
        if isinstance(factor, Factor):
            rows.setdefault(names[factor.source], factor.ids)
        else:
            aggregated.update(names[f.source] for f in factor.members.factors if isinstance(f, Factor))
    return rows, sorted(aggregated - set(rows))


def _feature_sources(operator: OperatorData, matrix_node: Optional[DagNode], X) -> Tuple[
        List[str], Optional[List[SourceColumns]], Optional[str]]:
    """Per matrix column its name and the source columns it came from (through the featuriser's matrix provenance)."""
    width = X.shape[1] if len(getattr(X, "shape", ())) == 2 else 1
    if matrix_node is None:
        return [str(i) for i in range(width)], None, "the feature matrix has no operator in the DAG"
    dag, results = operator.dag, operator.results
    node = matrix_node
    while True:  # behind the train/test markers and same-width transformers (a scaler after a ColumnTransformer)
        matrix = (results.get(node, {}) or {}).get(MatrixColumnProvenance())
        parents = sorted(dag.in_edges(node, data="input_index"), key=lambda e: e[2])
        if matrix or not parents or node.operator_type not in (T.TRAIN_DATA, T.TEST_DATA, T.TRANSFORMER) or (
                node.operator_type is T.TRANSFORMER and len(parents[0][0].columns) != len(node.columns)):
            break
        node = parents[0][0]
    names = [str(c) for c in node.columns] if len(node.columns) == width else [str(i) for i in range(width)]
    if matrix:
        upstream = sorted(ancestors(dag, node) | {node}, key=lambda n: -n.node_id)
        provenance = [(results.get(a, {}) or {}).get(ColumnProvenance()) or {} for a in upstream]
        sources: List[set] = [set() for _ in range(width)]
        for column, ranges in matrix.items():
            found = next((p[column] for p in provenance if column in p), None)
            if found is None:
                return names, None, f"the provenance of the featuriser's input column {column!r} is not known"
            for start, stop in ranges:
                for position in range(start, min(stop, width)):
                    sources[position] |= found
        return names, [frozenset(s) for s in sources], None
    provenance = (results.get(matrix_node, {}) or {}).get(ColumnProvenance()) or {}
    columns = [str(c) for c in getattr(X, "columns", [])]
    if columns and all(c in provenance for c in columns):
        return columns, [provenance[c] for c in columns], None
    return names, None, f"no matrix column provenance for {matrix_node.description!r}"


# Personal data ---------------------------------------------------------------------------------------------

EMAIL = re.compile(r"^[\w.+'-]+@[\w-]+(\.[\w-]+)*\.[a-z]{2,}$", re.IGNORECASE)
IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")
CARD = re.compile(r"^\d{13,19}$")
PHONE = re.compile(r"^(\+|00)?[\d ()./-]{6,24}$")
DATE = re.compile(r"^(\d{4}[./-]\d{1,2}[./-]\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4})([ T][\d:.]+)?$")


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a card number (every second digit from the right doubled)."""
    total = 0
    for index, digit in enumerate(int(d) for d in reversed(digits)):
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    """ISO 13616: the first four characters moved to the end, letters as 10..35, the number mod 97 is 1."""
    rearranged = text[4:] + text[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def personal_data_kind(value: Any, names: FrozenSet[str] = frozenset()) -> Optional[str]:
    """``email``, ``iban``, ``card number``, ``phone number``, ``name`` or None for one value."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if EMAIL.match(text):
        return "email"
    compact = re.sub(r"[\s-]", "", text)
    if IBAN.match(compact.upper()) and iban_valid(compact.upper()):
        return "iban"
    if CARD.match(compact) and luhn_valid(compact):
        return "card number"
    digits = sum(c.isdigit() for c in text)
    if PHONE.match(text) and not DATE.match(text) and 7 <= digits <= 15 and (text[0] == "+" or text.startswith("00")
                                                     or re.search(r"\d[ ()./-]+\d", text)):
        return "phone number"
    if names and any(word in names for word in re.findall(r"[^\W\d_]+", text.lower())):
        return "name"
    return None


class PersonalDataColumns(VectorizedInspection):
    """At every data source: its name and ``{column: (kind, share of the sampled values)}`` for text columns where
    at least ``min_share`` of up to ``sample`` non-missing values look like one kind of personal data.

    ``names`` are first or last names (case-insensitive words) that make a value a person's name.
    """

    def __init__(self, names: Iterable[str] = (), min_share: float = 0.5, sample: int = 1000):
        self.names = tuple(sorted({str(n).lower() for n in names}))
        self.min_share = min_share
        self.sample = sample

    def inspect(self, operator: OperatorData) -> Optional[Tuple[str, Dict[str, Tuple[str, float]]]]:
        data = operator.data
        if operator.node.operator_type is not T.DATA_SOURCE or not isinstance(data, pd.DataFrame):
            return None
        names = frozenset(self.names)
        found = {}
        for column in data.columns:
            values = data[column]
            if values.dtype.kind not in "OSU" and not isinstance(values.dtype, pd.StringDtype):
                continue
            values = values.dropna().iloc[:self.sample]
            if not len(values):
                continue
            kinds = pd.Series([personal_data_kind(v, names) for v in values]).value_counts()
            if len(kinds) and kinds.iloc[0] / len(values) >= self.min_share:
                found[str(column)] = (str(kinds.index[0]), float(kinds.iloc[0] / len(values)))
        return operator.source_names[operator.node.node_id], found


# Data value ------------------------------------------------------------------------------------------------

def knn_shapley(train_X: np.ndarray, train_y: np.ndarray, test_X: np.ndarray, test_y: np.ndarray, k: int,
                chunk: int = 256) -> np.ndarray:
    """Exact KNN-Shapley value of every training row for the test accuracy of a k-NN classifier.

    Jia et al. (VLDB 2019), Theorem 1: with the training rows sorted by distance to a test point,
    s_N = [y_N = y] / N and s_i = s_{i+1} + ([y_i = y] - [y_{i+1} = y]) / k * min(k, i) / i;
    the value is the mean over the test points.
    """
    n = len(train_X)
    values = np.zeros(n)
    if n == 0 or len(test_X) == 0:
        return values
    ranks = np.arange(1, n)
    weights = np.minimum(k, ranks) / ranks / k
    train_sq = np.einsum("ij,ij->i", train_X, train_X)
    for start in range(0, len(test_X), chunk):
        block = test_X[start:start + chunk]
        distances = train_sq[None, :] - 2 * block @ train_X.T
        order = np.argsort(distances, axis=1, kind="stable")
        match = (train_y[order] == test_y[start:start + chunk, None]).astype(float)
        steps = (match[:, :-1] - match[:, 1:]) * weights
        shapley = np.empty_like(match)
        shapley[:, -1] = match[:, -1] / n
        shapley[:, :-1] = shapley[:, -1:] + np.cumsum(steps[:, ::-1], axis=1)[:, ::-1]
        np.add.at(values, order.ravel(), shapley.ravel())
    return values / len(test_X)


@dataclasses.dataclass
class DataValues:
    """KNN-Shapley values of a model's training rows, and summed onto the source rows they were made from."""

    model_node: DagNode
    test_node: DagNode
    train_values: np.ndarray
    source_values: Dict[str, np.ndarray]
    #: Sources whose rows reach the training data only through aggregates: they get no value.
    sources_without_value: List[str]
    #: The data source node of each source name (its ``DataValue`` result is the source's row labels).
    source_nodes: Dict[str, int] = dataclasses.field(default_factory=dict)


class DataValue(VectorizedInspection):
    """KNN-Shapley values (``k`` neighbours, Euclidean distance on the feature matrix) of the training rows for
    the accuracy on the test rows of each ``score`` call, summed onto source rows through row lineage: a
    source row that fed several training rows gets their sum, both sides of a join get the row's value.

    The result at a SCORE node is a ``DataValues``; ``rows_to_fix(result, source, n)`` lists the source rows
    of least value. Needs ``score`` (with test labels); a ``predict`` alone gives no value.
    """

    def __init__(self, k: int = 5):
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"DataValue: k must be a positive integer, not {k!r}")
        self.k = int(k)

    @property
    def annotation_keys(self):
        return (LINEAGE,)

    @property
    def required_inspections(self):
        return (ModelInputs(),)

    def inspect(self, operator: OperatorData) -> Optional[Any]:
        if operator.node.operator_type is T.DATA_SOURCE:  # the row labels, for rows_to_fix's keys
            return getattr(operator.data, "index", None)
        if operator.node.operator_type is not T.SCORE:
            return None
        test = operator.results.get(operator.node, {}).get(ModelInputs())
        train = test and operator.results.get(test.model_node, {}).get(ModelInputs())
        if not train or train.y is None or test.y is None:
            return None
        train_values = knn_shapley(dense(train.X, "training"), train.y, dense(test.X, "test"), test.y, self.k)
        sizes = {operator.source_names[i]: size for i, size in operator.source_sizes.items()}
        source_values = {}
        for source, ids in train.lineage.items():
            summed = np.zeros(sizes[source])
            known = ids >= 0
            np.add.at(summed, ids[known], train_values[known])
            source_values[source] = summed
        return DataValues(train.model_node, operator.node, train_values, source_values, train.aggregated_sources,
                          {name: node_id for node_id, name in operator.source_names.items()})


def dense(X, what: str, max_cells: int = 50_000_000) -> np.ndarray:
    """The feature matrix as a float array; a clear error when it is not numeric or too large to densify."""
    shape = getattr(X, "shape", None) or (len(X),)
    if len(shape) == 2 and shape[0] * shape[1] > max_cells:
        raise ValueError(f"the {what} feature matrix ({shape[0]} x {shape[1]}) is too large to densify")
    if hasattr(X, "toarray"):
        X = X.toarray()
    try:
        array = np.asarray(X, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"the {what} feature matrix is not numeric: {error}") from error
    return array.reshape(len(array), -1)


def rows_to_fix(result, source: str, n: int = 10) -> pd.DataFrame:
    """The ``n`` rows of ``source`` with the least data value (most harmful first): ``row`` (position in the
    source as read), ``key`` (the source frame's row label), ``value``; from the last ``score`` of a run
    with ``DataValue``."""
    values = [(i, r) for node in result.nodes for i, r in result.dag_node_to_inspection_results[node].items()
              if isinstance(i, DataValue) and isinstance(r, DataValues)]
    if not values:
        raise ValueError("no data values in this result: add the DataValue() inspection, and score the model on "
                         "labelled test data (model.score(X_test, y_test))")
    inspection, found = values[-1]
    if source not in found.source_values:
        why = (" (it reaches the training data only through aggregates)" if source in found.sources_without_value
               else "")
        raise ValueError(f"no data values for source {source!r}{why}; sources with values: "
                         f"{', '.join(sorted(found.source_values))}")
    summed = found.source_values[source]
    order = np.argsort(summed, kind="stable")[:n]
    source_node = next((node for node in result.nodes if node.node_id == found.source_nodes.get(source)), None)
    labels = result.dag_node_to_inspection_results.get(source_node, {}).get(inspection) if source_node else None
    keys = np.asarray(labels)[order] if labels is not None and len(labels) == len(summed) else [None] * len(order)
    return pd.DataFrame({"row": order, "key": keys, "value": summed[order]})


def group_values(annotations: Optional[Dict], column: str) -> Optional[np.ndarray]:
    """The values of a source column for each row (None where a row's value is not known)."""
    found = (annotations or {}).get(value_key(column))
    return None if found is None or isinstance(found, UnknownProvenance) else found.values()


class TestGroups(VectorizedInspection):
    """At every ``score`` / ``predict`` of an estimator: the value of ``column`` for each test row, recovered through
    the rows' provenance even where the pipeline projected the column away (None where not known)."""

    __test__ = False  # not a pytest class

    def __init__(self, column: str):
        self.column = column

    @property
    def annotation_keys(self):
        return (value_key(self.column),)

    def inspect(self, operator: OperatorData) -> Optional[np.ndarray]:
        if operator.node.operator_type not in (T.SCORE, T.PREDICT) or not operator.inputs:
            return None
        return group_values(operator.annotations_of(operator.inputs[0].data), self.column)
