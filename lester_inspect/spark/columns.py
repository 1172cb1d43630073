"""Which source columns a Spark DataFrame's columns are computed from, read from its analyzed plan.

Spark's analyzed plan names every column by an expression id; a source's columns are the
output attributes of its relation, and each operator's new columns are expressions over its
input's. Following the ids from a frame's columns down to the relations gives each column's
column provenance, for plans of any length, Spark ML stages included (their UDFs name their
input columns). The plan is read once, as JSON (``TreeNode.toJSON``). Only data flow counts,
as for pandas runs: a column read only by a filter decides which rows remain, not values. An
equi-join's key column holds both sides' values, so it counts both key columns.

An operator this module does not know raises ``UnknownPlan``: the caller must then treat
every column as possibly used.
"""
from __future__ import annotations

import json
from typing import Dict, FrozenSet, List, Tuple

Key = Tuple[int, str]  # (expression id, id of the JVM that made it)


class UnknownPlan(Exception):
    """The plan holds an operator or an expression whose data flow is not known here."""


# Operators whose output columns are their (first) input's, unchanged.
_PASS = {"Filter", "Sort", "Sample", "GlobalLimit", "LocalLimit", "Offset", "Tail", "Distinct", "Deduplicate",
         "DeduplicateWithinWatermark", "Repartition", "RepartitionByExpression", "RebalancePartitions",
         "SubqueryAlias", "ResolvedHint", "CollectMetrics", "Intersect", "Except", "View", "WithWatermark"}
_SUBQUERIES = ("Subquery", "Exists", "ListQuery", "OuterReference", "LateralColumnAliasReference")


Column = Tuple[str, Key, str]  # (name, expression id, data type)


def columns_of(frame) -> List[Column]:
    """The frame's columns as (name, expression id, data type), in order (what a source is recorded as)."""
    node = _tree(frame)
    defined = dict(_defined(node))
    return [(defined[key][0], key, defined[key][1]) for key in _follow(node, {}, {})[0]]


def used_source_columns(frame, columns, sources: Dict[str, List[Column]]) -> Dict[str, set]:
    """{source: names of its columns that ``columns`` of ``frame`` are computed from}.

    ``sources``: each source's ``columns_of`` when it was read. A source read twice into one
    plan (a self-join) appears there a second time with new ids; such a relation is matched
    to the sources by its column names and types (all of those that have them).
    """
    node = _tree(frame)
    terminal = {key: (source, name) for source, recorded in sources.items() for name, key, _ in recorded}
    leaves: Dict[Key, Tuple[int, tuple]] = {}
    outputs, provenance = _follow(node, terminal, leaves)
    defined = dict(_defined(node))
    by_name = {defined[key][0]: key for key in outputs}
    used: Dict[str, set] = {source: set() for source in sources}
    for column in columns:
        for key in provenance[by_name[column]]:
            if key in terminal:
                source, name = terminal[key]
                used[source].add(name)
                continue
            position, signature = leaves[key]
            alike = [source for source, recorded in sources.items()
                     if tuple((name, kind) for name, _, kind in recorded) == signature]
            if not alike:
                raise UnknownPlan(f"a relation that is no recorded source (column {column!r} is computed from it)")
            for source in alike:
                used[source].add(signature[position][0])
    return used


def _tree(frame):
    nodes = json.loads(frame._jdf.queryExecution().analyzed().toJSON())
    return _build(nodes, 0)[0]


def _build(nodes: list, position: int):
    """The plan node at ``position`` of the pre-order list, with its children; returns (node, next position)."""
    node = dict(nodes[position])
    children, position = [], position + 1
    for _ in range(int(node["num-children"])):
        child, position = _build(nodes, position)
        children.append(child)
    node["children"] = children
    return node, position


def _kind(item: dict) -> str:
    return item["class"].rsplit(".", 1)[-1]


def _key(item: dict) -> Key:
    return int(item["exprId"]["id"]), str(item["exprId"].get("jvmId"))


def _expression_key(expression: list) -> Key:
    """The id a named expression (an alias or a column reference) gives its column."""
    top = expression[0]
    if "exprId" not in top:
        raise UnknownPlan(f"a column made by {_kind(top)} without a name")
    return _key(top)


def _references(expression: list) -> set:
    found = set()
    for item in expression:
        kind = _kind(item)
        if any(part in kind for part in _SUBQUERIES):
            raise UnknownPlan(f"a {kind} expression")
        if kind == "AttributeReference":
            found.add(_key(item))
    return found


def _equalities(condition: list):
    """(key, key) of each ``a = b`` (or ``a <=> b``) between two columns in a condition (pre-order nodes)."""
    for position, item in enumerate(condition[:-2]):
        left, right = condition[position + 1], condition[position + 2]
        if _kind(item) in ("EqualTo", "EqualNullSafe") and all(
                _kind(side) == "AttributeReference" for side in (left, right)):
            yield _key(left), _key(right)


def _type(item: dict) -> str:
    return json.dumps(item.get("dataType"), sort_keys=True)


def _defined(node: dict):
    """(key, (name, data type)) of every named expression in the plan (every column it defines)."""
    for field in ("output", "projectList", "aggregateExpressions", "windowExpressions"):
        for expression in node.get(field) or []:
            top = expression[0] if isinstance(expression, list) else expression
            if isinstance(top, dict) and "exprId" in top and "name" in top:
                yield _key(top), (top["name"], _type(top))
    for child in node["children"]:
        yield from _defined(child)


def _follow(node: dict, terminal: dict, leaves: dict):
    """(this operator's output column keys, {key: source column keys}) for the plan under ``node``.

    A key in ``terminal`` (a recorded source's column) is a source column itself; ``leaves``
    receives, for each relation's column, its position and the relation's (name, type) list.
    """
    kind = _kind(node)
    followed = [_follow(child, terminal, leaves) for child in node["children"]]
    known: Dict[Key, FrozenSet[Key]] = {}
    for _, provenance in followed:
        known.update(provenance)

    def computed(expressions) -> List[Key]:
        keys = []
        for expression in expressions:
            key = _expression_key(expression)
            if _kind(expression[0]) == "AttributeReference" and key in known:  # passed on as it is
                keys.append(key)
                continue
            sources = set()
            for reference in _references(expression):
                if reference not in known:
                    raise UnknownPlan(f"a {kind} reading a column that no input of it has")
                sources |= known[reference]
            known[key] = frozenset({key}) if key in terminal else frozenset(sources)
            keys.append(key)
        return keys

    if not node["children"]:
        attributes = [e[0] for e in node.get("output") or []]
        signature = tuple((a["name"], _type(a)) for a in attributes)
        outputs = [_key(a) for a in attributes]
        for position, key in enumerate(outputs):
            known[key] = frozenset({key})
            leaves[key] = (position, signature)
        return outputs, known
    if kind == "Project":
        return computed(node["projectList"]), known
    if kind == "Aggregate":
        return computed(node["aggregateExpressions"]), known
    if kind in _PASS:
        return followed[0][0], known
    if kind == "Window":
        return followed[0][0] + computed(node["windowExpressions"]), known
    if kind == "Join":
        join_type = json.dumps(node.get("joinType"))
        if "Existence" in join_type:
            raise UnknownPlan("an existence join")
        right = [] if "Semi" in join_type or "Anti" in join_type else followed[1][0]
        # An equi-join's key holds the values of both sides' key columns.
        for left_key, right_key in _equalities(node.get("condition") or []):
            if left_key in known and right_key in known:
                known[left_key] = known[right_key] = known[left_key] | known[right_key]
        return followed[0][0] + right, known
    if kind == "Union":
        outputs = followed[0][0]
        for child_outputs, _ in followed[1:]:
            for key, other in zip(outputs, child_outputs):
                known[key] = known[key] | known[other]
        return outputs, known
    raise UnknownPlan(f"a {kind} operator")
