"""Issue 10 §3: a check with a bad parameter is a configuration error with one clear line, never a SUCCESS."""
import os
import shutil

import pytest

from lester_inspect import PipelineInspector
from lester_inspect.checks import (CheckConfigurationError, NoBiasAccumulatedFor, NoBiasIntroducedFor,
                                   NoIllegalFeatures, NoLabelShift, NoMissingEmbeddings,
                                   SimilarRemovalProbabilitiesFor)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PIPELINE = "import pandas as pd\ndf = pd.DataFrame({'race': ['a', 'b'], 'age': [1, 2]})\nkept = df[df['age'] > 1]\n"


@pytest.mark.parametrize("build, message", [
    (lambda: NoLabelShift(significance=-5),
     "NoLabelShift: significance must be a number between 0 and 1 (exclusive), got -5"),
    (lambda: NoLabelShift(significance="0.01"),
     "NoLabelShift: significance must be a number between 0 and 1 (exclusive), got '0.01'"),
    (lambda: NoLabelShift(significance=True),
     "NoLabelShift: significance must be a number between 0 and 1 (exclusive), got True"),
    (lambda: NoBiasIntroducedFor("race"), "NoBiasIntroducedFor: columns must be a list of column names, got 'race'"),
    (lambda: NoBiasAccumulatedFor([]), "NoBiasAccumulatedFor: columns must name at least one column"),
    (lambda: NoBiasIntroducedFor([3]), "NoBiasIntroducedFor: columns must be column names (strings), got 3"),
    (lambda: NoBiasIntroducedFor(["race"], min_allowed_relative_ratio_change=0.3),
     "NoBiasIntroducedFor: min_allowed_relative_ratio_change must be a number from -1 to 0 (the allowed relative "
     "change of a group's share), got 0.3"),
    (lambda: SimilarRemovalProbabilitiesFor(["race"], max_removal_probability_ratio=float("nan")),
     "SimilarRemovalProbabilitiesFor: max_removal_probability_ratio must be a number of at least 1, got nan"),
    (lambda: NoMissingEmbeddings(threshold=2), "NoMissingEmbeddings: threshold must be a number from 0 to 1 "
                                               "(a share of rows), got 2"),
    (lambda: NoIllegalFeatures("ssn"), "NoIllegalFeatures: additional_illegal_feature_names must be a list of "
                                       "column names, got 'ssn'"),
])
def test_parameters_are_refused_when_the_check_is_built(build, message):
    with pytest.raises(CheckConfigurationError) as raised:
        build()
    assert str(raised.value) == message


def test_good_parameters_are_kept():
    assert NoLabelShift(0.05).significance == 0.05
    assert NoBiasIntroducedFor(("race",), -1).columns == ["race"]
    assert SimilarRemovalProbabilitiesFor(["race"], 1).max_removal_probability_ratio == 1


def test_a_column_that_never_appears_in_the_pipeline_is_an_error_after_the_run():
    inspector = PipelineInspector.on_pipeline_from_string(PIPELINE).add_checks(
        [NoBiasIntroducedFor(["rac", "age"]), SimilarRemovalProbabilitiesFor(["gender"])])
    with pytest.raises(CheckConfigurationError) as raised:
        inspector.execute()
    assert str(raised.value) == ("NoBiasIntroducedFor: column 'rac' never appears in the pipeline (did you mean "
                                 "'race'?); SimilarRemovalProbabilitiesFor: column 'gender' never appears in the "
                                 "pipeline")
    assert len(raised.value.partial_result.nodes) == 2
    assert raised.value.partial_result.check_to_check_results == {}


def test_cli_run_exits_2_with_one_line(tmp_path, capfd):
    from lester_inspect.cli import main

    pipeline = tmp_path / "pipeline.py"
    pipeline.write_text(PIPELINE)
    for option, line in [("no-bias-introduced-for=rac", "NoBiasIntroducedFor: column 'rac' never appears in the "
                                                        "pipeline (did you mean 'race'?)"),
                         ("no-label-shift=abc", "NoLabelShift: significance must be a number between 0 and 1 "
                                                "(exclusive), got 'abc'"),
                         ("no-label-shift=-5", "NoLabelShift: significance must be a number between 0 and 1 "
                                               "(exclusive), got -5.0")]:
        assert main(["run", "--check", option, str(pipeline)]) == 2
        assert capfd.readouterr().err == f"lester-inspect: {line}\n"


def test_ci_exits_2_for_a_misspelt_column_and_an_out_of_range_parameter(tmp_path, capsys, monkeypatch):
    from lester_inspect.ci import cli

    repository = tmp_path / "repository"
    shutil.copytree(os.path.join(ROOT, "example_pipelines", "ci_demo"), repository,
                    ignore=shutil.ignore_patterns(".lester", "__pycache__", "out"))
    monkeypatch.chdir(repository)
    config = '[[pipelines]]\npath = "pipelines/train.py"\nname = "loans"\n[pipelines.checks]\n'
    (repository / "lester.toml").write_text(config + 'no-label-shift = { significance = -5 }\n')
    assert cli.main(["ci"]) == 2
    assert capsys.readouterr().err == ("lester-inspect: lester.toml: pipelines[0].checks.no-label-shift: NoLabelShift: "
                                       "significance must be a number between 0 and 1 (exclusive), got -5\n")
    (repository / "lester.toml").write_text(config + 'no-bias-introduced-for = { columns = ["rase"] }\n')
    assert cli.main(["ci"]) == 2
    assert capsys.readouterr().err == ("lester-inspect: loans: NoBiasIntroducedFor: column 'rase' never appears in "
                                       "the pipeline (did you mean 'race'?)\n")
