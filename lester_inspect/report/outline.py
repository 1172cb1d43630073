"""A pipeline's DAG in one or two plain sentences, for a terminal (``dag_text()`` has every operator)."""
from __future__ import annotations

from typing import List

# Operator types in the order a pipeline usually uses them, each with plain words (singular, plural).
_WORDS = [
    ("DATA_SOURCE", "input", "inputs"),
    ("SELECTION", "filter", "filters"),
    ("JOIN", "join", "joins"),
    ("GROUP_BY_AGG", "aggregation", "aggregations"),
    ("CONCATENATION", "concatenation", "concatenations"),
    ("SORT", "sort", "sorts"),
    ("RESHAPE", "reshaping", "reshapings"),
    ("PROJECTION_MODIFY", "computed column", "computed columns"),
    ("PROJECTION", "column selection", "column selections"),
    ("TRAIN_TEST_SPLIT", "train/test split", "train/test splits"),
    ("TRANSFORMER", "feature encoding step", "feature encoding steps"),
    ("ESTIMATOR", "model fit", "model fits"),
    ("PREDICT", "prediction", "predictions"),
    ("SCORE", "evaluation", "evaluations"),
]
# Markers of what reaches a model: not steps a reader thinks of.
_SILENT = {"TRAIN_DATA", "TRAIN_LABELS", "TEST_DATA", "TEST_LABELS"}


def dag_outline(result) -> str:
    """``"40 operations from 18 lines of code: 2 inputs (mails.csv, customers.csv), 2 filters, ..."``.

    Operations of one type at one place in the code count once: a ColumnTransformer's
    encoder applied to training and test data is one feature encoding step.
    """
    nodes = result.nodes
    counts = {}
    for node in nodes:
        found = counts.setdefault(node.operator_type.name, {})
        found.setdefault(node.code_location or node.node_id, node)
    counts = {name: list(found.values()) for name, found in counts.items()}
    places = {node.code_location or node.node_id for node in nodes if node.operator_type.name not in _SILENT}
    parts: List[str] = []
    for name, one, many in _WORDS:
        found = counts.get(name, [])
        if not found:
            continue
        part = f"{len(found)} {one if len(found) == 1 else many}"
        if name == "DATA_SOURCE":
            part += " (" + ", ".join(_source_name(n.description) for n in found) + ")"
        if name == "ESTIMATOR":
            part += " (" + ", ".join(sorted({n.description.split(":")[0] for n in found})) + ")"
        parts.append(part)
    known = {name for name, _, _ in _WORDS} | _SILENT
    other = sum(len(found) for name, found in counts.items() if name not in known)
    if other:
        parts.append(f"{other} other")
    return f"{len(nodes)} operations from {len(places)} places in the code: " + ", ".join(parts)


def _source_name(description: str) -> str:
    """``"Read mails.csv"`` -> ``"mails.csv"``; other descriptions as they are."""
    return description[len("Read "):] if description.startswith("Read ") else description
