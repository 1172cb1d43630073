"""``lester-inspect lineage``: OpenLineage run events with schemas and column lineage, to a file and over HTTP.

No JSON schema of OpenLineage ships in a package and there is no network at test time, so each event is
validated by rebuilding it from its JSON with the client's generated model classes (their validators check
run ids, times and URIs) and serialising it again with the client's serde: the JSON must come back equal.
On top: the spec's required fields, producer and schemaURL on the event and every facet, and every
column-lineage input field named in an input dataset's schema.
"""
import http.server
import json
import os
import sys
import threading

import pytest

pytest.importorskip("openlineage.client")

from openlineage.client.event_v2 import PRODUCER, InputDataset, Job, OutputDataset, Run, RunEvent, RunState  # noqa: E402
from openlineage.client.facet_v2 import (column_lineage_dataset, error_message_run, job_type_job,  # noqa: E402
                                         processing_engine_run, schema_dataset, source_code_job, tags_job, tags_run)
from openlineage.client.serde import Serde  # noqa: E402

from lester_inspect.cli import main  # noqa: E402

PIPELINE = """
import os
import sys
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import OneHotEncoder, StandardScaler

folder = os.path.dirname(os.path.abspath(__file__))
people = pd.read_csv(os.path.join(folder, "people.csv"))
jobs = pd.read_csv(os.path.join(folder, "jobs.csv"))
data = people.merge(jobs, on="id")
data["income_k"] = data["income"] / 1000
data["label"] = data["hours"] > 30
if len(sys.argv) > 1:
    raise ValueError("asked to fail")
features = ColumnTransformer([("num", StandardScaler(), ["income_k", "age"]), ("cat", OneHotEncoder(), ["city"])])
X = features.fit_transform(data)
LogisticRegression().fit(X, data["label"])
"""

FEATURE_SOURCES = {"num__income_k": [("people", "income")], "num__age": [("people", "age")],
                   "cat__city_x": [("people", "city")], "cat__city_y": [("people", "city")]}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lineage")
    rows = range(40)
    (folder / "people.csv").write_text("id,age,income,city\n" + "".join(
        f"{i},{20 + i % 30},{30000 + 500 * i},{'xy'[i % 2]}\n" for i in rows))
    (folder / "jobs.csv").write_text("id,hours\n" + "".join(f"{i},{20 + (i * 7) % 25}\n" for i in rows))
    (folder / "train.py").write_text(PIPELINE)
    return folder


@pytest.fixture(scope="module")
def events(pipeline):
    out = pipeline / "events.jsonl"
    assert main(["lineage", str(pipeline / "train.py"), "--openlineage", str(out)]) == 0
    return [json.loads(line) for line in out.read_text().splitlines()]


def rebuild(event: dict) -> RunEvent:
    """The event as the client's model classes (their attrs validators run on construction)."""
    def facet(where, kind, data):
        producer = data["_producer"]
        data = {"producer": producer, **{k: v for k, v in data.items() if not k.startswith("_")}}
        if kind == "schema":
            return schema_dataset.SchemaDatasetFacet(fields=[schema_dataset.SchemaDatasetFacetFields(**f)
                                                             for f in data["fields"]], producer=producer)
        if kind == "columnLineage":
            lineage = column_lineage_dataset
            return lineage.ColumnLineageDatasetFacet(fields={
                name: lineage.Fields(inputFields=[lineage.InputField(
                    **{**field, "transformations": [lineage.Transformation(**t) for t in field["transformations"]]})
                    for field in value["inputFields"]]) for name, value in data["fields"].items()},
                dataset=data.get("dataset", []), producer=producer)
        if kind == "tags":  # the client adds its version as a tag
            tags = {"run": tags_run, "job": tags_job}[where]
            cls, field = (tags.TagsRunFacet, tags.TagsRunFacetFields) if where == "run" else (
                tags.TagsJobFacet, tags.TagsJobFacetFields)
            return cls(tags=[field(**t) for t in data["tags"]], producer=producer)
        classes = {"jobType": job_type_job.JobTypeJobFacet, "sourceCode": source_code_job.SourceCodeJobFacet,
                   "processing_engine": processing_engine_run.ProcessingEngineRunFacet,
                   "errorMessage": error_message_run.ErrorMessageRunFacet}
        return classes[kind](**data)

    def facets(where, found):
        return {kind: facet(where, kind, data) for kind, data in found.items()}

    def datasets(cls, found):
        return [cls(namespace=d["namespace"], name=d["name"], facets=facets("dataset", d["facets"])) for d in found]

    return RunEvent(eventType=RunState(event["eventType"]), eventTime=event["eventTime"], producer=event["producer"],
                    run=Run(runId=event["run"]["runId"], facets=facets("run", event["run"]["facets"])),
                    job=Job(namespace=event["job"]["namespace"], name=event["job"]["name"],
                            facets=facets("job", event["job"]["facets"])),
                    inputs=datasets(InputDataset, event["inputs"]), outputs=datasets(OutputDataset, event["outputs"]))


def assert_valid(event: dict) -> None:
    rebuilt = rebuild(event)
    assert Serde.to_dict(rebuilt) == event  # the client's classes and serde give back exactly this JSON
    for key in ("eventTime", "eventType", "producer", "schemaURL", "run", "job", "inputs", "outputs"):
        assert key in event, key
    assert event["producer"].startswith("urn:lester-inspect:")
    assert event["schemaURL"].startswith("https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent")
    facets = [*event["run"]["facets"].values(), *event["job"]["facets"].values(),
              *(f for d in event["inputs"] + event["outputs"] for f in d["facets"].values())]
    for found in facets:
        assert found["_producer"] in (event["producer"], PRODUCER) and found["_schemaURL"].startswith("https://openlineage.io/")
    fields = {(d["namespace"], d["name"], f["name"]) for d in event["inputs"] for f in d["facets"]["schema"]["fields"]}
    for output in event["outputs"]:
        for value in output["facets"]["columnLineage"]["fields"].values():
            for field in value["inputFields"]:
                assert (field["namespace"], field["name"], field["field"]) in fields, field


def test_events_are_valid_openlineage_with_schemas_and_column_lineage(events, pipeline):
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    for event in events:
        assert_valid(event)
    start, complete = events
    assert start["run"]["runId"] == complete["run"]["runId"] and start["outputs"] == []
    assert complete["job"] == start["job"] and complete["job"]["name"] == f"{pipeline.name}.train"
    assert complete["job"]["facets"]["sourceCode"]["sourceCode"] == PIPELINE
    inputs = {os.path.basename(d["name"]): d for d in complete["inputs"]}
    assert sorted(inputs) == ["jobs.csv", "people.csv"] and {d["namespace"] for d in inputs.values()} == {"file"}
    assert [(f["name"], f["type"]) for f in inputs["people.csv"]["facets"]["schema"]["fields"]] == [
        ("id", "int64"), ("age", "int64"), ("income", "int64"), ("city", "str")]
    outputs = {d["name"].rsplit("/", 1)[1]: d for d in complete["outputs"]}
    assert sorted(outputs) == ["features", "labels"]
    line = PIPELINE.splitlines().index('LogisticRegression().fit(X, data["label"])') + 1
    assert outputs["features"]["name"] == f"{pipeline.name}.train/LogisticRegression@line{line}/features"
    lineage = outputs["features"]["facets"]["columnLineage"]["fields"]
    path = {name: inputs[f"{name}.csv"]["name"] for name in ("people", "jobs")}
    assert {field: [(os.path.basename(i["name"])[:-4], i["field"]) for i in value["inputFields"]]
            for field, value in lineage.items()} == FEATURE_SOURCES
    assert all(i["name"] == path["people"] for value in lineage.values() for i in value["inputFields"])
    labels = outputs["labels"]["facets"]["columnLineage"]["fields"]["label"]["inputFields"]
    assert [(i["name"], i["field"]) for i in labels] == [(path["jobs"], "hours")]


def test_a_failing_pipeline_gets_a_fail_event_with_its_error(pipeline, capsys):
    out = pipeline / "failed.jsonl"
    assert main(["lineage", str(pipeline / "train.py"), "--openlineage", str(out), "--", "fail"]) == 2
    start, fail = (json.loads(line) for line in out.read_text().splitlines())
    assert_valid(fail)
    assert fail["eventType"] == "FAIL" and fail["outputs"] == []  # no model was fitted
    assert fail["run"]["facets"]["errorMessage"]["message"] == "ValueError: asked to fail"
    assert len(fail["inputs"]) == 2  # the sources read before the error
    assert "raised ValueError" in capsys.readouterr().err


class Collector(http.server.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Collector.received.append((self.path, self.headers["Content-Type"], json.loads(body)))
        self.send_response(201)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_events_are_posted_to_an_http_endpoint(pipeline, events, capsys):
    server = http.server.HTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        assert main(["lineage", str(pipeline / "train.py"), "--openlineage-url", url, "--job", "nightly"]) == 0
    finally:
        server.shutdown()
        server.server_close()
    assert [(path, kind) for path, kind, _ in Collector.received] == [("/api/v1/lineage", "application/json")] * 2
    posted = [event for _, _, event in Collector.received]
    for event in posted:
        assert_valid(event)
    assert [e["job"]["name"] for e in posted] == ["nightly", "nightly"]
    assert [o["facets"]["columnLineage"] for o in posted[1]["outputs"]] == [
        o["facets"]["columnLineage"] for o in events[1]["outputs"]]
    assert "2 OpenLineage events sent to" in capsys.readouterr().err


def test_unreachable_endpoint_and_missing_options_are_one_line_errors(pipeline, capsys):
    with socket_closed() as port:
        assert main(["lineage", str(pipeline / "train.py"), "--openlineage-url", f"http://127.0.0.1:{port}"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1].startswith(f"lester-inspect: cannot send OpenLineage events to http://127.0.0.1:{port}: ")
    assert main(["lineage", str(pipeline / "train.py")]) == 2
    assert capsys.readouterr().err == "lester-inspect: lineage needs --openlineage FILE or --openlineage-url URL\n"


def test_a_disabled_client_is_an_error_not_a_silent_success(pipeline, capsys, monkeypatch):
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    assert main(["lineage", str(pipeline / "train.py"), "--openlineage-url", "http://127.0.0.1:9"]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "lester-inspect: cannot send OpenLineage events to http://127.0.0.1:9: RuntimeError: the OpenLineage client "
        "is disabled (OPENLINEAGE_DISABLED=true); nothing was sent")


def test_missing_client_is_one_clear_line(pipeline, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "openlineage.client", None)  # import fails as if not installed
    assert main(["lineage", str(pipeline / "train.py"), "--openlineage", str(pipeline / "x.jsonl")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "pip install 'lester-inspect[lineage]'" in error
    assert not (pipeline / "x.jsonl").exists()


class socket_closed:
    """A local port nothing listens on."""

    def __enter__(self):
        import socket

        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        return self.socket.getsockname()[1]

    def __exit__(self, *exc):
        self.socket.close()
