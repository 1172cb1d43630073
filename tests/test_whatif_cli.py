"""``lester-inspect run --what-if ...``: the analyses' tables printed, clear errors, a progress bar on a terminal."""
import re
import shlex

import pytest

from lester_inspect import PipelineInspector
from lester_inspect.cli import main
from lester_inspect.whatif import DataCorruption, PermutationFeatureImportance, WhatIfError
from lester_inspect.whatif.cli import parse_what_if_option, what_if_tables
from test_whatif import EXAMPLES, FALLBACK_PIPELINE

README = (EXAMPLES.parent / "README.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def small_pipeline(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "pipeline.py"
    path.write_text(FALLBACK_PIPELINE)
    return path


def test_the_readme_command_prints_each_analysis_table_as_the_python_api_computes_it(capsys, monkeypatch):
    (line,) = re.findall(r"`(lester-inspect run --what-if [^`]*)`", README)
    monkeypatch.chdir(EXAMPLES.parent)
    assert main(shlex.split(line)[1:]) == 0
    printed, stderr = capsys.readouterr()
    assert stderr == ""  # not a terminal: no progress bar
    corruption = DataCorruption({"age": "all", "race": "category_shift"})
    importance = PermutationFeatureImportance()
    result = (PipelineInspector.on_pipeline(EXAMPLES / "compas_like" / "pipeline.py")
              .add_what_if(corruption).add_what_if(importance).execute())
    tables = "\n".join(what_if_tables(result))
    assert tables in printed
    # age is numeric: its corruptions are missing values, gaussian noise and scaling, at three fractions each.
    assert [name for name in result.what_if[corruption]["variant"] if "(age" in name] == [
        f"{kind}(age, {fraction})" for kind in ("missing_values", "gaussian_noise", "scaling")
        for fraction in ("0.1", "0.5", "0.9")]
    assert "What-if PermutationFeatureImportance(all columns):" in printed


@pytest.mark.parametrize("option, message", [
    ("corupt:age", "unknown what-if analysis 'corupt' in --what-if corupt:age; choose one of: "
                   "corruption:COLUMN[=KIND][,COLUMN[=KIND]...]; importance[:COLUMN,...]; "
                   "operator-impact[:GROUP,...]; cleaning:COLUMN=METHOD[,...]; feasibility:TARGET"),
    ("corruption", "--what-if corruption: corruption needs a value: corruption:COLUMN"),
    ("feasibility:high", "feasibility needs a target accuracy between 0 and 1 (feasibility:0.9), got 'high'"),
    ("corruption:age=noise", "DataCorruption: unknown corruption 'noise' for column 'age'"),
    ("cleaning:age", "cleaning: 'age' needs a value (age=...)"),
])
def test_a_wrong_what_if_option_is_one_clear_error_before_the_pipeline_runs(option, message, small_pipeline, capsys):
    with pytest.raises(WhatIfError, match=re.escape(message)):
        parse_what_if_option(option)
    assert main(["run", "--what-if", option, str(small_pipeline)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith(f"lester-inspect: {message}")


def test_a_what_if_the_pipeline_does_not_allow_exits_2_naming_it(small_pipeline, capsys):
    assert main(["run", "--what-if", "corruption:c", str(small_pipeline)]) == 2
    assert "lester-inspect: DataCorruption: column 'c' is not in the frame the model is scored on at line 14" \
        in capsys.readouterr().err


def test_variants_count_on_a_progress_bar_when_shown(small_pipeline, capsys, monkeypatch):
    # Whether a bar is shown (a terminal, or LESTER_INSPECT_PROGRESS=1) is tests/test_progress.py's.
    monkeypatch.setenv("LESTER_INSPECT_PROGRESS", "1")
    assert main(["run", "--what-if", "corruption:a", str(small_pipeline)]) == 0
    stdout, drawn = capsys.readouterr()
    assert "What-if DataCorruption(a, 3 fractions):" in stdout
    assert "what-if: DataCorruption(a, 3 fractions):" in drawn and "| 0/9 [" in drawn and "variant/s" in drawn
