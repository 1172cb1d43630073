"""The corpus of notebook-style pipelines (tests/corpus/README.md): each runs the same with and without us.

For every pipeline: identical output plain and instrumented, no internal error, no
provenance cut other than the ones its header expects, and the header's key and
text columns reach the training data.
"""
import contextlib
import importlib.util
import io
import re
import runpy
import sys
from pathlib import Path

import pytest

from lester_inspect import PipelineInspector
from lester_inspect.inspections import ColumnProvenance, RowLineage
from lester_inspect.inspections.annotations import UnknownProvenance
from lester_inspect.instrumentation.rows import Unknown

CORPUS = Path(__file__).parent / "corpus"
PIPELINES = sorted(path for path in CORPUS.glob("*.py") if not path.name.startswith("_"))


def header(path: Path) -> dict:
    """The ``corpus: name=value ...`` line of a pipeline's docstring."""
    match = re.search(r"^corpus:(.*)$", path.read_text(), re.MULTILINE)
    assert match, f"{path.name} has no 'corpus:' line in its docstring"
    return dict(part.split("=", 1) for part in match.group(1).split())


@pytest.fixture(scope="session")
def corpus_data(tmp_path_factory):
    spec = importlib.util.spec_from_file_location("corpus_data", CORPUS / "_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    folder = tmp_path_factory.mktemp("corpus_data")
    module.write_all(str(folder))
    return str(folder)


def _plain(path: Path, data: str) -> str:
    out = io.StringIO()
    saved = sys.argv
    sys.argv = [str(path), data]
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(str(path), run_name="__main__")
    finally:
        sys.argv = saved
    return out.getvalue()


def _cuts(result, unknown_inputs) -> list:
    """Every place where row provenance is cut: lineage-core's record once it lands, else our own scan."""
    if hasattr(result, "provenance_cuts"):
        return [f"{cut.reason} ({cut.location})" for cut in result.provenance_cuts]
    cuts = [f"{node}: {mapping.reason}" for node, mapping in unknown_inputs]
    cuts += [str(node) for node in result.nodes if node.description.startswith("Untracked")]
    return cuts


def test_corpus_is_large_enough():
    assert len([p for p in PIPELINES if p.name.startswith("pd_")]) >= 14


@pytest.mark.parametrize("path", PIPELINES, ids=[p.stem for p in PIPELINES])
def test_pipeline_runs_alike_and_keeps_its_provenance(path, corpus_data):
    declared = header(path)
    plain = _plain(path, corpus_data)
    unknown_inputs = []

    def observe(node, inputs, output):
        unknown_inputs.extend((node, item.rows()) for item in inputs
                              if item.carries_rows and isinstance(item.rows(), Unknown))

    lineage, provenance = RowLineage(1), ColumnProvenance()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = (PipelineInspector.on_pipeline(str(path), args=[corpus_data])
                  .add_inspections([lineage, provenance]).add_observer(observe).execute())
    assert out.getvalue() == plain
    assert result.internal_errors == []

    cuts = _cuts(result, unknown_inputs)
    expected = declared.get("expect-cut")
    if expected is None:
        assert cuts == []
    else:
        assert cuts and all(expected in cut for cut in cuts), cuts

    key, text = declared["key"], declared["text"]
    sources = [n for n in result.nodes if n.operator_type.name == "DATA_SOURCE"
               and key in n.columns and text in n.columns]
    assert sources, f"no data source with columns {key!r} and {text!r}"
    train = [n for n in result.nodes if n.operator_type.name == "TRAIN_DATA"]
    assert train, "the pipeline trains no model"
    columns = result.dag_node_to_inspection_results[train[-1]][provenance].values()
    if expected is not None and any(isinstance(c, UnknownProvenance) for c in columns):
        return  # below the declared cut the training data's column provenance is unknown, and says so
    read = set().union(*columns)
    assert any(column == text for _, column in read), f"{text!r} does not reach the training data: {read}"
