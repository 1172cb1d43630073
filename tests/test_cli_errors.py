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


def test_a_pipelines_exception_shows_only_its_own_frames_and_names_partial_result(raising, tmp_path, capsys,
                                                                                   monkeypatch):
    environment = dict(os.environ, PYTHONPATH=ROOT)
    plain = subprocess.run([sys.executable, str(raising)], capture_output=True, text=True, env=environment)
    monkeypatch.chdir(tmp_path)
    # In this process: the frames shown start below our own, so the caller's (pytest's here) never show either.
    for command in (["run", str(raising)], ["report", str(raising), "-o", str(tmp_path / "r.html")],
                    ["capture", str(raising), "--name", "x", "--store", str(tmp_path / "store")]):
        assert main(command) == 2, command
        stderr = capsys.readouterr().err
        traceback_lines = [line for line in stderr.splitlines() if line.startswith("  File ")]
        assert traceback_lines == [line for line in plain.stderr.splitlines() if line.startswith("  File ")], command
        assert not any("lester_inspect" in line for line in traceback_lines)
        assert "KeyError: 'no_such_column'" in stderr
        if command[0] != "report":  # report shows the partial DAG in its page instead
            assert "partial_result" in stderr
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


ODD = "\udcff 🎉 ünï"  # a lone surrogate (an undecodable byte of a file name), an emoji, accents
# pandas' string columns cannot hold a lone surrogate: it is in the path and the exception message.
ODD_PIPELINE = textwrap.dedent("""\
    import pandas as pd

    frame = pd.DataFrame({"group": ["a", "a", "b", "b", "DATA", "DATA", "DATA", "DATA"], "value": range(8)})
    frame = frame[frame["value"] < 3]
    if __file__.endswith("raising.py"):
        raise ValueError("bad value ODD")
    """).replace("DATA", ODD[2:]).replace("ODD", ODD.encode("unicode_escape").decode("ascii"))


def test_any_character_survives_every_output_on_an_ascii_terminal(tmp_path):
    os.mkdir(os.fsencode(tmp_path) + b"/repo \xff " + "🎉".encode())  # a folder name that is not UTF-8
    (folder,) = tmp_path.iterdir()
    assert "\udcff" in str(folder)
    (folder / "biased.py").write_text(ODD_PIPELINE, encoding="utf-8")
    (folder / "raising.py").write_text(ODD_PIPELINE, encoding="utf-8")
    (folder / "lester.toml").write_text(textwrap.dedent("""\
        [[pipelines]]
        path = "biased.py"
        name = "biased 🎉"
        [pipelines.checks]
        no-bias-introduced-for = { columns = ["group"] }

        [[pipelines]]
        path = "raising.py"
        """), encoding="utf-8")
    step_summary = folder / "step summary 🎉.md"
    environment = dict(os.environ, PYTHONPATH=ROOT, PYTHONIOENCODING="ascii", LANG="C", LC_ALL="C",
                       GITHUB_STEP_SUMMARY=str(step_summary))
    completed = subprocess.run(
        [sys.executable, "-m", "lester_inspect.cli", "ci", "--junit", "out/junit 🎉.xml", "--summary", "out/s.md",
         "--report", "out/report.html"], cwd=folder, env=environment, capture_output=True)
    assert completed.returncode == 2, completed.stderr.decode("ascii")  # a pipeline raised: an error, never 1
    stdout, stderr = completed.stdout.decode("ascii"), completed.stderr.decode("ascii")  # ascii only, no crash
    escaped = "\\udcff \\U0001f389 \\xfcn\\xef"
    assert f"ValueError: bad value {escaped}" in stderr
    assert "FAILED   biased \\U0001f389" in stdout and "lester-inspect ci: error (exit code 2)" in stdout
    assert "group = '\\U0001f389 \\xfcn\\xef'" in stdout  # the failing check's reason names the group

    import xml.etree.ElementTree as ET

    junit = ET.parse(folder / "out" / "junit 🎉.xml").getroot()
    messages = " ".join(element.get("message", "") for element in junit.iter())
    assert "bad value \\udcff 🎉 ünï" in messages  # the surrogate as an escape, everything else as itself
    assert "group = '🎉 ünï'" in messages
    for name, quote in (("s.md", "'"), ("report.html", "&#x27;")):
        text = (folder / "out" / name).read_text(encoding="utf-8")
        assert "bad value \\udcff 🎉 ünï" in text and f"group = {quote}🎉 ünï{quote}" in text, name
    assert "repo \\udcff 🎉" in (folder / "out" / "report.html").read_text(encoding="utf-8")  # the path
    assert step_summary.read_text(encoding="utf-8") == (folder / "out" / "s.md").read_text(encoding="utf-8")


def test_a_report_that_cannot_be_written_leaves_no_file(tmp_path, monkeypatch):
    from lester_inspect.commandline import write_text

    target = tmp_path / "report.html"
    target.write_text("the previous report")

    class Interrupted(Exception):
        pass

    def failing_replace(source, destination):
        raise Interrupted()

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(Interrupted):
        write_text(str(target), "new " + ODD)
    assert target.read_text() == "the previous report" and os.listdir(tmp_path) == ["report.html"]
    monkeypatch.undo()
    write_text(str(tmp_path / "new.html"), "new " + ODD)
    assert (tmp_path / "new.html").read_text(encoding="utf-8") == "new \\udcff 🎉 ünï"
