"""Issue 10 §1: where row provenance is cut, it is an explicit state that propagates, never a default."""
import textwrap

import pytest

from lester_inspect import PipelineInspector
from lester_inspect.inspections import ColumnProvenance, HistogramForColumns, RowLineage, SourceRowUsage
from lester_inspect.inspections.annotations import UnknownProvenance
from lester_inspect.instrumentation.dag import CodeLocation, FunctionInfo, OperatorType
from lester_inspect.instrumentation.provenance_cuts import cuts_upstream
from lester_inspect.instrumentation.rows import Identity, Input, ProvenanceCut, Unknown, never_unknown
from lester_inspect.instrumentation.run import InstrumentedRun
from lester_inspect.instrumentation.source import PipelineSource

T = OperatorType
WIDEN = """
import pandas as pd


def widen(frame):
    return pd.DataFrame({"k": frame["k"].to_numpy(), "wide": frame["v"].to_numpy() * 2})
"""
PIPELINE = """
import sys
import pandas as pd
sys.path.insert(0, sys.argv[1])
import thirdparty

df = pd.DataFrame({"k": ["a", "b", "c"], "v": [1, 2, 3], "g": ["x", "y", "x"]})
wide = thirdparty.widen(df)
kept = wide[wide["wide"] > 2]
joined = kept.merge(df, on="k")
print(len(joined))
"""


@pytest.fixture
def third_party_pipeline(tmp_path):
    """A pipeline calling a library function outside the user's folder that returns a new frame."""
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "thirdparty.py").write_text(textwrap.dedent(WIDEN))
    (tmp_path / "pipe").mkdir()
    (tmp_path / "pipe" / "pipeline.py").write_text(textwrap.dedent(PIPELINE))
    return PipelineInspector.on_pipeline(str(tmp_path / "pipe" / "pipeline.py"), args=[str(tmp_path / "lib")])


def test_an_untracked_source_says_what_made_it_and_where_it_was_first_used(third_party_pipeline):
    result = third_party_pipeline.execute()
    untracked = result.nodes[1]
    assert untracked.operator_type is T.DATA_SOURCE and untracked.function == FunctionInfo("", "unknown")
    assert untracked.description == ("Untracked DataFrame made by `wide = thirdparty.widen(df)` (line 8:0), "
                                     "which lester-inspect does not follow; first used at line 9:12")
    cut = result.dag.nodes[untracked]["provenance_cut"]
    assert cut == ProvenanceCut(
        "thirdparty.widen: made by `wide = thirdparty.widen(df)`, which lester-inspect does not follow; "
        "first used at line 9:12; its rows are not linked to any data source",
        FunctionInfo("", "thirdparty.widen"), CodeLocation(8, 0, 8, 27), 1)
    assert result.provenance_cuts == [cut]
    source, _, selection, join = result.nodes
    assert cuts_upstream(result.dag, source) == []
    assert cuts_upstream(result.dag, selection) == cuts_upstream(result.dag, join) == [cut]


def test_inspections_downstream_of_a_cut_report_unknown(third_party_pipeline):
    result = third_party_pipeline.add_inspections(
        [RowLineage(3), HistogramForColumns(["g"]), ColumnProvenance(), SourceRowUsage([T.JOIN])]).execute()
    source, untracked, selection, join = result.nodes
    cut = result.provenance_cuts[0]
    unknown = UnknownProvenance((cut,))
    results = result.dag_node_to_inspection_results
    assert [str(p) for p in results[source][RowLineage(3)]["lineage"]] == ["source0[0]", "source0[1]", "source0[2]"]
    for node in (untracked, selection, join):
        assert list(results[node][RowLineage(3)]["lineage"]) == [unknown] * len(results[node][RowLineage(3)])
    # The untracked frame has no column g: its distribution is unknown, not empty.
    assert results[selection][HistogramForColumns(["g"])] == {"g": unknown}
    # After the join, g is in the data again: its values are a fact about these rows.
    assert results[join][HistogramForColumns(["g"])] == {"g": {"y": 1, "x": 1}}
    assert results[join][SourceRowUsage([T.JOIN])] == unknown
    assert results[join][ColumnProvenance()] == {"k": unknown, "wide": unknown, "v": frozenset({("source0", "v")}),
                                                 "g": frozenset({("source0", "g")})}
    assert "unknown (line 8:0: thirdparty.widen: made by" in repr(unknown)


def _run_with_lineage():
    run = InstrumentedRun(PipelineSource.from_string("pass\n"))
    from lester_inspect.inspections.executor import InspectionExecutor

    executor = InspectionExecutor(run, [RowLineage(RowLineage.ALL_ROWS)])
    run.observers.append(executor)
    return run, executor


def test_a_static_unknown_mapping_cuts_at_the_node_and_downstream():
    import pandas as pd

    run, executor = _run_with_lineage()
    where = CodeLocation(3, 4, 3, 20)
    data = pd.DataFrame({"a": [1, 2]})
    source = run.add_node(T.DATA_SOURCE, FunctionInfo("pandas", "DataFrame"), None, "data", ["a"], [], data)
    shuffled = data.iloc[::-1]
    reshaped = run.add_node(T.RESHAPE, FunctionInfo("pandas", "DataFrame.mystery"), where, "mystery", ["a"],
                            [Input(source, data, Unknown("no rule for this call"))], shuffled)
    kept = shuffled[["a"]]
    projected = run.add_node(T.PROJECTION, FunctionInfo("pandas", "DataFrame.__getitem__"), None, "project",
                             ["a"], [Input(reshaped, shuffled, Identity())], kept)
    cut = ProvenanceCut("DataFrame.mystery: no rule for this call", FunctionInfo("pandas", "DataFrame.mystery"),
                        where, reshaped.node_id)
    assert run.dag.nodes[reshaped]["provenance_cut"] == cut
    assert "provenance_cut" not in run.dag.nodes[projected]
    assert cuts_upstream(run.dag, projected) == [cut]
    lineage = executor.results[projected][RowLineage(RowLineage.ALL_ROWS)]["lineage"]
    assert list(lineage) == [UnknownProvenance((cut,))] * 2


def test_a_mapping_found_unknown_when_computed_is_recorded_then():
    import pandas as pd

    run = InstrumentedRun(PipelineSource.from_string("pass\n"))
    run.tracks_rows = True  # an observer will ask for the mappings it needs
    data = pd.DataFrame({"a": [1, 2]})
    source = run.add_node(T.DATA_SOURCE, FunctionInfo("pandas", "DataFrame"), None, "data", ["a"], [], data)
    item = Input(source, data, lambda: Unknown("the input's row index has duplicate labels"))
    node = run.add_node(T.SORT, FunctionInfo("pandas", "DataFrame.sort_values"), CodeLocation(2, 0, 2, 9),
                        "sort", ["a"], [item], data.copy())
    # Nobody needed the mapping yet: nothing is claimed.
    assert "provenance_cut" not in run.dag.nodes[node]
    assert isinstance(item.rows(), Unknown)
    assert run.dag.nodes[node]["provenance_cut"].reason == (
        "DataFrame.sort_values: the input's row index has duplicate labels")


def test_a_run_that_tracks_no_rows_computes_a_mapping_for_its_cut_unless_it_cannot_be_unknown():
    import pandas as pd

    run = InstrumentedRun(PipelineSource.from_string("pass\n"))
    data = pd.DataFrame({"a": [1, 2]})
    source = run.add_node(T.DATA_SOURCE, FunctionInfo("pandas", "DataFrame"), None, "data", ["a"], [], data)
    computed = []

    def duplicates():
        computed.append("duplicates")
        return Unknown("the input's row index has duplicate labels")

    @never_unknown
    def mask():
        computed.append("mask")
        return Identity()

    node = run.add_node(T.SORT, FunctionInfo("pandas", "DataFrame.sort_values"), CodeLocation(2, 0, 2, 9),
                        "sort", ["a"], [Input(source, data, duplicates), Input(source, data, mask)], data.copy())
    assert computed == ["duplicates"]
    assert run.dag.nodes[node]["provenance_cut"].reason == (
        "DataFrame.sort_values: the input's row index has duplicate labels")


CUTS_FOUND_WHEN_COMPUTED = """
import pandas as pd
from sklearn.model_selection import train_test_split
left = pd.DataFrame({"k": [1, 2, 3, 4], "x": [4.0, 3.0, 2.0, 1.0]}, index=[0, 0, 1, 1])
right = pd.DataFrame({"k": [1, 2, 3], "y": ["a", "b", "c"]})
joined = left.merge(right, on="k")
ordered = left.sort_values("x")
counts = pd.Series([3, 1, 2], index=["a", "a", "b"]).sort_values()
dropped = left.drop(index=[1])
train, test = train_test_split(joined, random_state=0)
print(len(ordered), len(counts), len(dropped), len(train))
"""


def test_a_run_without_inspections_lists_the_cuts_only_computed_mappings_find(tmp_path, capfd):
    from lester_inspect.cli import main

    plain = PipelineInspector.on_pipeline_from_string(CUTS_FOUND_WHEN_COMPUTED).execute()
    inspected = (PipelineInspector.on_pipeline_from_string(CUTS_FOUND_WHEN_COMPUTED)
                 .add_inspection(RowLineage(3)).execute())
    # Duplicate labels cut the Series' sort and the drop (neither gets hidden row ids); the join, the frame's sort
    # and the split are mapped (by row ids in a run that tracks rows), so they are no cut in either run.
    where = [(cut.location.lineno, cut.function.name) for cut in plain.provenance_cuts]
    assert where == [(8, "Series.sort_values"), (9, "DataFrame.drop")]
    assert [str(cut) for cut in plain.provenance_cuts] == [str(cut) for cut in inspected.provenance_cuts]
    assert plain.summary().splitlines()[-4:-1] == [
        "Row provenance is cut at 2 places (row-based results downstream are unknown):",
        *(f"  {cut}" for cut in plain.provenance_cuts)]
    path = tmp_path / "pipeline.py"
    path.write_text(CUTS_FOUND_WHEN_COMPUTED)
    assert main(["run", str(path)]) == 0
    out = capfd.readouterr().out
    assert "Row provenance is cut at 2 places" in out
    assert "line 8:9: Series.sort_values: the input's row index has duplicate labels" in out


def test_a_mapping_that_fails_to_compute_is_a_cut_naming_the_error():
    import pandas as pd

    run, executor = _run_with_lineage()
    data = pd.DataFrame({"a": [1, 2]})
    source = run.add_node(T.DATA_SOURCE, FunctionInfo("pandas", "DataFrame"), None, "data", ["a"], [], data)

    def broken():
        raise KeyError("x")

    node = run.add_node(T.SELECTION, FunctionInfo("pandas", "DataFrame.query"), None, "query", ["a"],
                        [Input(source, data, broken)], data.iloc[:1])
    assert run.dag.nodes[node]["provenance_cut"].reason == (
        "DataFrame.query: computing the row mapping failed: KeyError: 'x'")
    assert isinstance(executor.results[node][RowLineage(RowLineage.ALL_ROWS)]["lineage"][0], UnknownProvenance)


FEATURES = """
import pandas as pd


def features(frame):
    return pd.DataFrame({"score": frame["score"].to_numpy(), "label": frame["label"].to_numpy()})
"""
MODEL = """
import sys
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
sys.path.insert(0, sys.argv[1])
import vendored_features

rng = np.random.default_rng(0)
df = pd.DataFrame({"group": np.repeat(["a", "b"], 30), "score": rng.normal(size=60), "label": np.tile([0, 1], 30)})
feats = vendored_features.features(df)
kept = feats[feats["score"] > -1]
train, test = train_test_split(kept, random_state=0)
model = LogisticRegression().fit(train[["score"]], train["label"])
print(model.score(test[["score"]], test["label"]))
"""


@pytest.fixture
def model_pipeline(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "vendored_features.py").write_text(textwrap.dedent(FEATURES))
    (tmp_path / "pipe").mkdir()
    (tmp_path / "pipe" / "pipeline.py").write_text(textwrap.dedent(MODEL))
    return str(tmp_path / "pipe" / "pipeline.py"), str(tmp_path / "lib")


def test_checks_that_need_row_provenance_warn_naming_the_cut(model_pipeline):
    from lester_inspect.checks import (CheckStatus, NoBiasAccumulatedFor, NoBiasIntroducedFor, NoDuplicateRows,
                                       NoTrainTestOverlap, SimilarRemovalProbabilitiesFor)

    path, lib = model_pipeline
    checks = [NoBiasIntroducedFor(["group"]), NoBiasAccumulatedFor(["group"]), SimilarRemovalProbabilitiesFor(["group"]),
              NoTrainTestOverlap(), NoDuplicateRows()]
    result = PipelineInspector.on_pipeline(path, args=[lib]).add_checks(checks).execute()
    cut = "line 12:0: vendored_features.features: made by `feats = vendored_features.features(df)`"
    verdicts = result.check_to_check_results
    assert {repr(c): v.status for c, v in verdicts.items()} == {repr(c): CheckStatus.WARNING for c in checks}
    assert verdicts[NoBiasIntroducedFor(["group"])].description.startswith(
        f"Cannot tell how operators 2, 3, 4 change the groups of group: row provenance is cut at {cut}")
    assert verdicts[NoBiasAccumulatedFor(["group"])].description.startswith(
        "Cannot tell whether the data of operators ")
    assert verdicts[SimilarRemovalProbabilitiesFor(["group"])].description.startswith(
        f"Cannot tell which groups of group the selections 2 remove: row provenance is cut at {cut}")
    assert verdicts[NoTrainTestOverlap()].description.startswith(
        f"Cannot tell which source rows the training and test data share: row provenance is cut at {cut}")
    assert verdicts[NoDuplicateRows()].description.startswith(
        f"Cannot tell whether the sources behind operators 1 hold duplicate rows: row provenance is cut at {cut}")
    assert all(v.operator == result.nodes[1] for v in verdicts.values())
    summary = result.summary().splitlines()
    assert summary[-3:-1] == ["Row provenance is cut at 1 place (row-based results downstream are unknown):",
                              f"  {result.provenance_cuts[0]}"]
    assert summary[-1] == "5 checks: 0 passed, 0 failed, 5 warnings"


def test_cli_run_lists_every_cut(model_pipeline, capfd):
    from lester_inspect.cli import main

    path, lib = model_pipeline
    assert main(["run", "--check", "no-train-test-overlap", path, lib]) == 0
    out = capfd.readouterr().out
    assert ("Row provenance is cut at 1 place (row-based results downstream are unknown):\n"
            "  line 12:0: vendored_features.features: made by `feats = vendored_features.features(df)`, which lester-inspect "
            "does not follow; first used at line 13:13; its rows are not linked to any data source\n") in out
    assert "WARNING  NoTrainTestOverlap()\n           Cannot tell which source rows" in out
