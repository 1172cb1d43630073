"""OpenLineage run events of an inspected pipeline run, built with the ``openlineage-python`` client.

A run is one START and one COMPLETE event (FAIL, with the error, when the pipeline raised). Inputs are the
pipeline's data sources: a file read is the dataset ``file`` / its absolute path (OpenLineage's naming for
local files); data made in the pipeline (``pd.DataFrame({...})``) is ``NAMESPACE`` / ``JOB/SOURCE``. Each has
a schema facet. Outputs are, per model fit, its training feature matrix and its labels, with a schema facet
and a column-lineage facet from our column provenance: every matrix column names the source columns it was
computed from. Where the provenance is not known (a provenance cut, a featuriser we cannot trace), the facet
leaves that field out and ``LineageEvents.gaps`` says why, never an empty "no inputs".
"""
from __future__ import annotations

import dataclasses
import datetime
import os
import traceback
from typing import Any, Dict, List, Optional, Tuple

from lester_inspect.export import require
from lester_inspect.inspections.annotations import UnknownProvenance
from lester_inspect.inspections.base import OperatorData, VectorizedInspection
from lester_inspect.inspections.screening import ModelInputs
from lester_inspect.instrumentation.dag import OperatorType

T = OperatorType
FILE_NAMESPACE = "file"
INTEGRATION = "LESTER_INSPECT"


def producer() -> str:
    from lester_inspect import __version__

    return f"urn:lester-inspect:{__version__}"


@dataclasses.dataclass(frozen=True)
class SourceSchema:
    name: str  # the source's name in column provenance
    path: Optional[str]  # the file it was read from, if any
    columns: Dict[str, str]  # column -> dtype


class SourceSchemas(VectorizedInspection):
    """At every data source: its name, the file it was read from and its columns' dtypes."""

    def __init__(self):
        pass

    def inspect(self, operator: OperatorData) -> Optional[SourceSchema]:
        node = operator.node
        if node.operator_type is not T.DATA_SOURCE:
            return None
        dtypes = getattr(operator.data, "dtypes", None)
        if dtypes is not None and hasattr(dtypes, "items"):
            columns = {str(c): str(t) for c, t in dtypes.items()}
        else:
            columns = {str(c): str(getattr(operator.data, "dtype", "")) for c in node.columns}
        path = operator.dag.nodes[node].get("source_path")
        return SourceSchema(operator.source_names[node.node_id], os.path.abspath(path) if path else None, columns)


def lineage_inspections() -> list:
    """What a run needs for its lineage events."""
    return [SourceSchemas(), ModelInputs()]


@dataclasses.dataclass
class LineageEvents:
    """The run's events (client ``RunEvent`` objects) and the output fields whose lineage is not known."""

    events: List[Any]
    gaps: List[str]


def run_events(result, job: str, namespace: str, started: datetime.datetime, ended: datetime.datetime,
               error: Optional[BaseException] = None, pipeline_path: Optional[str] = None) -> LineageEvents:
    """START and COMPLETE (or FAIL, when ``error`` is given) events of one run of ``result``'s pipeline."""
    require("openlineage.client", "openlineage-python", "lineage")
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
    from openlineage.client.facet_v2 import error_message_run, job_type_job, processing_engine_run, source_code_job
    from openlineage.client.uuid import generate_new_uuid

    from lester_inspect import __version__

    made_by = producer()
    inputs, datasets = _input_datasets(result, job, namespace, made_by)
    outputs, gaps = _output_datasets(result, job, namespace, datasets, made_by)
    job_facets = {"jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration=INTEGRATION,
                                                          jobType="PIPELINE", producer=made_by)}
    if pipeline_path and pipeline_path.endswith(".py") and os.path.isfile(pipeline_path):
        with open(pipeline_path, encoding="utf-8", errors="backslashreplace") as handle:
            job_facets["sourceCode"] = source_code_job.SourceCodeJobFacet(language="python",
                                                                          sourceCode=handle.read(), producer=made_by)
    run_facets = {"processing_engine": processing_engine_run.ProcessingEngineRunFacet(
        version=__version__, name="lester-inspect", openlineageAdapterVersion=_client_version(), producer=made_by)}
    run_id = str(generate_new_uuid(started))
    end_facets = dict(run_facets)
    if error is not None:
        end_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=f"{type(error).__name__}: {error}", programmingLanguage="python",
            stackTrace="".join(traceback.format_exception(type(error), error, error.__traceback__)), producer=made_by)

    def event(state, time, facets, with_outputs):
        return RunEvent(eventType=state, eventTime=time.isoformat(), run=Run(runId=run_id, facets=facets),
                        job=Job(namespace=namespace, name=job, facets=job_facets), inputs=inputs,
                        outputs=outputs if with_outputs else [], producer=made_by)

    end_state = RunState.FAIL if error is not None else RunState.COMPLETE
    return LineageEvents([event(RunState.START, started, run_facets, False),
                          event(end_state, ended, end_facets, True)], gaps)


def _client_version() -> str:
    from openlineage.client.constants import __version__

    return __version__


def _schema(columns: Dict[str, str], made_by: str):
    from openlineage.client.facet_v2 import schema_dataset

    return schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name=name, type=dtype, ordinal_position=position)
                for position, (name, dtype) in enumerate(columns.items(), 1)], producer=made_by)


def _input_datasets(result, job: str, namespace: str, made_by: str) -> Tuple[list, Dict[str, Tuple[str, str]]]:
    """The input datasets, and ``{source name: (dataset namespace, dataset name)}`` for column lineage."""
    from openlineage.client.event_v2 import InputDataset

    found: Dict[Tuple[str, str], Dict[str, str]] = {}
    names: Dict[str, Tuple[str, str]] = {}
    for node in result.nodes:
        schema = result.dag_node_to_inspection_results[node].get(SourceSchemas())
        if schema is None:
            continue
        key = (FILE_NAMESPACE, schema.path) if schema.path else (namespace, f"{job}/{schema.name}")
        found.setdefault(key, {}).update(schema.columns)
        names[schema.name] = key
    inputs = [InputDataset(namespace=ns, name=name, facets={"schema": _schema(columns, made_by)})
              for (ns, name), columns in found.items()]
    return inputs, names


def _output_datasets(result, job: str, namespace: str, datasets: Dict[str, Tuple[str, str]],
                     made_by: str) -> Tuple[list, List[str]]:
    from openlineage.client.event_v2 import OutputDataset
    from openlineage.client.facet_v2 import column_lineage_dataset as lineage

    outputs, gaps = [], []
    for node in result.nodes:
        data = result.dag_node_to_inspection_results[node].get(ModelInputs())
        if data is None or node.operator_type is not T.ESTIMATOR:
            continue
        model = node.description.split(":")[0].strip()
        line = node.code_location.lineno if node.code_location else "?"
        base = f"{job}/{model}@line{line}"
        dtype = str(getattr(data.X, "dtype", "float64"))
        feature_sources = data.feature_sources
        if feature_sources is None:
            gaps.append(f"{base}/features: the matrix columns' sources are not known ({data.provenance_gap})")
            feature_sources = [None] * len(data.feature_names)
        matrices = [("features", data.feature_names, feature_sources, dtype)]
        if data.y is not None:
            matrices.append(("labels", ["label"], [data.label_sources], str(data.y.dtype)))
        for kind, fields, sources, field_type in matrices:
            name = f"{base}/{kind}"
            mapped = {}
            for field, field_sources in zip(fields, sources):
                inputs, why = _input_fields(field_sources, datasets, lineage, f"reaches {model} at line {line}")
                if why:
                    gaps.append(f"{name}: field {field!r}: {why}")
                elif inputs:  # a field computed in the pipeline from no source column has no input to name
                    mapped[field] = lineage.Fields(inputFields=inputs)
            facets = {"schema": _schema({f: field_type for f in fields}, made_by),
                      "columnLineage": lineage.ColumnLineageDatasetFacet(fields=mapped, producer=made_by)}
            outputs.append(OutputDataset(namespace=namespace, name=name, facets=facets))
    return outputs, gaps


def _input_fields(sources, datasets: Dict[str, Tuple[str, str]], lineage, how: str) -> Tuple[list, Optional[str]]:
    if sources is None:
        return [], "its source columns are not known"
    if isinstance(sources, UnknownProvenance):
        return [], f"below a provenance cut ({sources})"
    fields = []
    for source, column in sorted(sources):
        if source not in datasets:
            return [], f"its source {source!r} is not a data source of this run"
        namespace, name = datasets[source]
        fields.append(lineage.InputField(namespace=namespace, name=name, field=column, transformations=[
            lineage.Transformation(type="DIRECT", subtype="TRANSFORMATION", description=how)]))
    return fields, None


def to_json_lines(events: List[Any]) -> str:
    """The events as JSON Lines (one event per line), as the client serialises them."""
    from openlineage.client.serde import Serde

    return "".join(Serde.to_json(event) + "\n" for event in events)


def post(events: List[Any], url: str, timeout: float = 10.0) -> None:
    """Send the events to an OpenLineage HTTP endpoint (``URL/api/v1/lineage``, as Marquez takes them)."""
    require("openlineage.client", "openlineage-python", "lineage")
    from openlineage.client import OpenLineageClient
    from openlineage.client.transport.http import HttpConfig, HttpTransport

    # No retries (the client's default is five with back-off): a wrong URL fails at once, in one line.
    retry = {"total": 0}
    client = OpenLineageClient(transport=HttpTransport(HttpConfig(url=url, timeout=timeout, retry=retry)))
    if client.transport.kind != HttpTransport.kind:  # OPENLINEAGE_DISABLED=true: the client would drop them
        raise RuntimeError(f"the OpenLineage client is disabled (OPENLINEAGE_DISABLED="
                           f"{os.environ.get('OPENLINEAGE_DISABLED')}); nothing was sent")
    try:
        for event in events:
            client.emit(event)
    finally:
        client.close()
