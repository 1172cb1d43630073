"""Exit codes, a pipeline's exception as the user would see it, and odd characters in every output."""
import os
import subprocess
import sys
import textwrap

import pytest

from lester_inspect.ci import cli as ci_cli
from lester_inspect.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEALTHCARE = os.path.join(ROOT, "example_pipelines", "healthcare", "pipeline.py")

RAISING = textwrap.dedent("""\
    import pandas as pd


    def select(frame):
        return frame["no_such_column"]


    frame = pd.DataFrame({"a": [1, 2, 3]})
    frame = frame[frame["a"] > 1]
    select(frame)
    """)


@pytest.fixture
def raising(tmp_path):
    path = tmp_path / "raising.py"
    path.write_text(RAISING)
    return path


def test_run_and_report_exit_1_when_a_check_fails_and_0_when_all_pass(tmp_path, capsys):
    failing = ["--check", "no-bias-introduced-for=race,age_group", HEALTHCARE]
    passing = ["--check", "no-train-test-overlap", HEALTHCARE]
    assert main(["run", *failing]) == 1
    assert main(["run", *passing]) == 0
    assert main(["report", *failing, "-o", str(tmp_path / "failing.html")]) == 1
    assert main(["report", HEALTHCARE, "-o", str(tmp_path / "passing.html"), "--check", "no-train-test-overlap"]) == 0
    output = capsys.readouterr().out
    assert "FAILURE  NoBiasIntroducedFor" in output and "(failed)" in output and "(passed)" in output


def test_a_pipelines_exception_shows_only_its_own_frames_and_names_partial_result(raising, tmp_path):
    environment = dict(os.environ, PYTHONPATH=ROOT)
    plain = subprocess.run([sys.executable, str(raising)], capture_output=True, text=True, env=environment)
    for command in (["run", str(raising)], ["report", str(raising), "-o", str(tmp_path / "r.html")],
                    ["capture", str(raising), "--name", "x", "--store", str(tmp_path / "store")]):
        completed = subprocess.run([sys.executable, "-m", "lester_inspect.cli", *command], capture_output=True,
                                   text=True, env=environment, cwd=tmp_path)
        assert completed.returncode == 2, command
        traceback_lines = [line for line in completed.stderr.splitlines() if line.startswith("  File ")]
        assert traceback_lines == [line for line in plain.stderr.splitlines() if line.startswith("  File ")], command
        assert not any("lester_inspect" in line for line in traceback_lines)
        assert "KeyError: 'no_such_column'" in completed.stderr
        if command[0] != "report":  # report shows the partial DAG in its page instead
            assert "partial_result" in completed.stderr
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "the pipeline raised KeyError" in page and "Selection" in page  # the DAG up to the failing line


def test_ci_exits_2_on_an_error_of_lester_inspect_itself(tmp_path, monkeypatch, capsys):
    (tmp_path / "lester.toml").write_text(f'[[pipelines]]\npath = "{HEALTHCARE}"\n')
    monkeypatch.chdir(tmp_path)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr("lester_inspect.ci.gate.run_ci", broken)
    assert ci_cli.main(["ci"]) == 2
    assert "internal error (RuntimeError: a bug of ours)" in capsys.readouterr().err
