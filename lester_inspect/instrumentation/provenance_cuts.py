"""Where a DAG's row provenance is cut: the ``provenance_cut`` node attributes upstream of a node.

An artifact's rows are fully linked to its sources exactly when no node it was
computed from carries a cut (see ``rows.ProvenanceCut``).
"""
from __future__ import annotations

from typing import List

from lester_inspect.instrumentation.dag import ancestors
from lester_inspect.instrumentation.rows import ProvenanceCut


def cuts_upstream(dag, node) -> List[ProvenanceCut]:
    """Every cut on ``node`` or its ancestors, in execution order; empty means complete provenance."""
    found = [dag.nodes[n].get("provenance_cut") for n in (ancestors(dag, node) | {node})]
    return sorted((cut for cut in found if cut is not None), key=lambda cut: cut.node_id)


def all_cuts(dag) -> List[ProvenanceCut]:
    """Every cut of a run, in execution order."""
    found = (cut for _, cut in dag.nodes(data="provenance_cut"))
    return sorted((cut for cut in found if cut is not None), key=lambda cut: cut.node_id)
