"""Issue 10's end-to-end canary test over the corpus of notebook-style pipelines (tests/corpus/).

For a pipeline: write card-number canaries into its source's text column for a few keys,
capture, forget that column of those keys, and assert that no byte of the store holds a
canary (UTF-8, UTF-16, UTF-32) — or that ``forget`` refused the run naming the cut's location.

A representative subset keeps the suite fast: one pipeline per source format read by key
(CSV with get_dummies, TSV, JSON lines) and one whose Python loop cuts provenance;
``CANARY_PIPELINES`` names them.
"""
import importlib.util
import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from lester_inspect import PipelineInspector
from lester_inspect.inspections import ArtifactCapture
from lester_inspect.ivm import ArtifactStore, ColumnSpec, ForgetIncomplete, RowSpec
from lester_inspect.ivm.audit import find_values

CORPUS = Path(__file__).parent / "corpus"
CANARY_PIPELINES = ["pd_churn_dummies.py", "pd_loans_table.py", "pd_employees_melt.py", "pd_python_loop.py"]
# Read and written again with the canaries, by format (the formats the subset reads).
_FORMATS = {".csv": (pd.read_csv, lambda frame, path: frame.to_csv(path, index=False)),
            ".tsv": (lambda path: pd.read_csv(path, sep="\t"), lambda frame, path: frame.to_csv(path, sep="\t", index=False)),
            ".json": (lambda path: pd.read_json(path, lines=True, dtype=False),
                      lambda frame, path: frame.to_json(path, orient="records", lines=True))}


def header(path: Path) -> dict:
    match = re.search(r"^corpus:(.*)$", path.read_text(), re.MULTILINE)
    return dict(part.split("=", 1) for part in match.group(1).split())


@pytest.fixture(scope="module")
def corpus_data(tmp_path_factory):
    spec = importlib.util.spec_from_file_location("corpus_data", CORPUS / "_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    folder = tmp_path_factory.mktemp("canary_data")
    module.write_all(str(folder))
    return folder


def plant(path: Path, key: str, text: str) -> dict:
    """Append a card-number canary to the text of eight rows spread over the file; {key value: canary}."""
    read, write = _FORMATS[path.suffix]
    frame = read(path)
    rows = list(range(0, len(frame), max(1, len(frame) // 8)))[:8]
    canaries = {}
    for number, row in enumerate(rows):
        canary = f"4{number:03d} 7{row:03d} 1234 9876"
        frame.loc[row, text] = f"{frame.loc[row, text]} card {canary}"
        canaries[str(frame.loc[row, key])] = canary
    write(frame, path)
    return canaries


@pytest.mark.parametrize("name", CANARY_PIPELINES)
def test_forget_leaves_no_canary_in_the_store_or_refuses_naming_the_cut(name, corpus_data, tmp_path, monkeypatch):
    pipeline = CORPUS / name
    expected = header(pipeline)
    data = tmp_path / "data"
    shutil.copytree(corpus_data, data)
    source = data / expected["source"]
    canaries = plant(source, expected["key"], expected["text"])
    monkeypatch.chdir(tmp_path)
    result = (PipelineInspector.on_pipeline(str(pipeline), args=[str(data)])
              .add_inspection(ArtifactCapture(store=".lester", name=name)).execute())
    assert ArtifactCapture.run_id_of(result) is not None, result.internal_errors
    store = ArtifactStore(".lester")
    assert find_values(".lester", canaries.values())[0], f"{name}: no canary reached the store; the test would be void"
    rows = RowSpec(str(source), key=expected["key"], values=tuple(canaries))
    try:
        store.forget(rows, ColumnSpec(str(source), expected["text"]))
    except ForgetIncomplete as refused:
        assert refused.report.exit_code == 3, refused.report.problems
        [problem] = refused.report.problems
        assert re.search(r"row provenance is cut at .* \(\S+\.py, line \d+\): ", problem), problem
        return
    assert "expect-cut" not in expected, f"{name}: its header expects a cut, but forget did not refuse"
    left = find_values(".lester", canaries.values())[0]
    assert not left, [(finding.path, finding.artifact, finding.encoding) for finding in left]
    assert os.listdir(".lester/runs")
