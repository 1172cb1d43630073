"""Provenance-based maintenance of captured pipeline artifacts: find affected runs, forget leaked data.

``ArtifactStore(path)`` holds the runs that ``lester_inspect.inspections.ArtifactCapture``
captured; ``affected_runs`` and ``forget`` take the rows as ``RowSpec.parse('customers.csv:customer_id=2,4,6')``
(or ``'customers.csv:@2,4,6'`` for row positions) and a leaked column as ``ColumnSpec.parse('mails.csv:mail_subject')``.
"""
from lester_inspect.ivm.specs import ColumnSpec, RowSpec, SpecError
from lester_inspect.ivm.store import AffectedRun, ArtifactStore, ForgetIncomplete, ForgetReport, ModelUpdateError

__all__ = ["AffectedRun", "ArtifactStore", "ColumnSpec", "ForgetIncomplete", "ForgetReport", "ModelUpdateError",
           "RowSpec", "SpecError"]
