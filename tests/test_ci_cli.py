"""The ci, init-ci and report commands; the demo repository through the real CLI in a subprocess."""
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from lester_inspect.ci import cli
from lester_inspect.ci.config import load_config
from lester_inspect.ci.scaffold import EXAMPLE_CONFIG, WORKFLOW

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))
DEMO = os.path.join(ROOT, "example_pipelines", "ci_demo")
OUTPUTS = ["--junit", "out/junit.xml", "--summary", "out/summary.md", "--report", "out/report.html"]


def run_cli(*args, cwd, environment=None):
    env = {key: value for key, value in os.environ.items() if key != "GITHUB_STEP_SUMMARY"}
    env["PYTHONPATH"] = os.pathsep.join([ROOT, env.get("PYTHONPATH", "")])
    env.update(environment or {})
    return subprocess.run([sys.executable, "-m", "lester_inspect.ci.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def demo(tmp_path):
    repository = tmp_path / "repository"
    shutil.copytree(DEMO, repository, ignore=shutil.ignore_patterns(".lester", "__pycache__", "out"))
    return repository


def junit_cases(path):
    return {case.get("name"): case for case in ET.parse(path).getroot().iter("testcase")}


class Completed:
    def __init__(self, code, captured):
        self.returncode, self.stdout, self.stderr = code, captured.out, captured.err


def test_the_demo_goes_green_for_a_fair_pipeline_and_red_for_a_biased_one(demo, tmp_path, capsys, monkeypatch):
    condition = "condition: n > 0.7 +/- 0.05 /\\ d < 0.1 +/- 0.05"
    monkeypatch.chdir(demo)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)

    def run_cli(*args, cwd, environment=None):  # in this process: a new one per run would double the time
        assert cwd == demo
        with monkeypatch.context() as patched:
            for key, value in (environment or {}).items():
                patched.setenv(key, value)
            code = cli.main(list(args))
        return Completed(code, capsys.readouterr())

    # The main branch: checks pass, the model's test predictions become the baseline.
    main = run_cli("ci", "--capture", *OUTPUTS, cwd=demo)
    assert main.returncode == 0, main.stdout + main.stderr
    assert "Test accuracy: 0.8280" in main.stdout  # the pipeline's own output
    assert len(os.listdir(demo / ".lester" / "ci" / "models")) == 1
    assert junit_cases(demo / "out" / "junit.xml")[condition].find("skipped") is not None

    # A pull request that keeps the pipeline fair: green, and the summary goes to the job summary.
    step_summary = tmp_path / "step_summary.md"
    step_summary.write_text("earlier step\n")
    fair = run_cli("ci", *OUTPUTS, cwd=demo, environment={"GITHUB_STEP_SUMMARY": str(step_summary)})
    assert fair.returncode == 0, fair.stdout + fair.stderr
    assert fair.stdout.endswith("lester-inspect ci: passed (exit code 0)\n")
    cases = junit_cases(demo / "out" / "junit.xml")
    assert sorted(cases) == sorted(["no-bias-introduced-for", "no-illegal-features", "no-train-test-overlap",
                                    condition])
    assert all(len(case) == 0 for case in cases.values())  # no failure, error or skipped element
    summary = (demo / "out" / "summary.md").read_text()
    assert summary.startswith("## lester-inspect: ✅ all 1 pipelines passed\n")
    assert f"| loan-approval | condition: n &gt; 0.7 +/- 0.05 /\\ d &lt; 0.1 +/- 0.05 | ✅ passed | holds on 1,500 " \
           f"test examples (needs 1,293; reliability 0.95, adaptivity full, fp-free; step 1 of 4) |" in summary
    assert step_summary.read_text() == "earlier step\n" + summary

    # The pull request adds a filter that drops most applicants of one group: red, pointing at line 26.
    shutil.copy(demo / "pull_requests" / "train.py", demo / "pipelines" / "train.py")
    biased = run_cli("ci", *OUTPUTS, cwd=demo)
    assert biased.returncode == 1, biased.stdout + biased.stderr
    reason = ("Selection at line 26:13 (Select: has_credit_history): race = 'race3' went from 20.3% to 10.6% of "
              "the rows (-48%), below the allowed -30%")
    assert f"  FAILED   no-bias-introduced-for\n           {reason}\n" in biased.stdout
    assert biased.stdout.endswith("lester-inspect ci: failed (exit code 1)\n")
    failure = junit_cases(demo / "out" / "junit.xml")["no-bias-introduced-for"].find("failure")
    assert failure.get("message") == reason
    assert 'train_data[train_data["has_credit_history"]]' in failure.text
    summary = (demo / "out" / "summary.md").read_text()
    assert f"| loan-approval | no-bias-introduced-for | ❌ failed | {reason} |" in summary
    page = (demo / "out" / "report.html").read_text()
    assert '<a href="#p0-op-4" class="op op-failed" data-operator="4">' in page
    assert "step 2 of 4" in page  # the model condition was evaluated (and passed) on this pull request too


def test_a_configuration_error_exits_with_2_and_names_the_key(demo):
    (demo / "lester.toml").write_text('[[pipelines]]\npath = "pipelines/train.py"\n'
                                      '[pipelines.checks]\nno-bias-introduced-for = { colums = ["race"] }\n')
    result = run_cli("ci", "--junit", "out/junit.xml", cwd=demo)
    assert result.returncode == 2
    assert result.stderr == ("lester-inspect: lester.toml: pipelines[0].checks.no-bias-introduced-for: "
                             "unknown parameter 'colums'; it takes columns, min_allowed_relative_ratio_change\n")
    assert result.stdout == ""
    assert not (demo / "out").exists()


def test_a_missing_configuration_exits_with_2(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["ci"]) == 2
    assert "no configuration found in" in capsys.readouterr().err


def test_a_raising_pipeline_exits_with_2_and_is_an_error_in_the_reports(demo, capsys, monkeypatch):
    (demo / "pipelines" / "train.py").write_text("import pandas as pd\npd.DataFrame({'a': [1]})['b']\n")
    monkeypatch.chdir(demo)
    assert cli.main(["ci", *OUTPUTS]) == 2
    captured = capsys.readouterr()
    assert "lester-inspect: loan-approval: the pipeline raised KeyError: 'b'" in captured.err
    assert captured.out.endswith("lester-inspect ci: error (exit code 2)\n")
    errors = [case.find("error") for case in junit_cases(demo / "out" / "junit.xml").values()]
    assert len(errors) == 4 and all(e is not None and e.get("message") == "the pipeline raised KeyError: 'b'"
                                    for e in errors)


def test_warnings_fail_only_with_fail_on_warning(demo, capsys, monkeypatch):
    # Without a captured baseline, the condition on d cannot be evaluated: a warning.
    monkeypatch.chdir(demo)
    assert cli.main(["ci", "--junit", "junit.xml"]) == 0
    assert "WARNING  condition: n > 0.7 +/- 0.05 /\\ d < 0.1 +/- 0.05\n           not evaluated: no captured run " \
           "of 'loan-approval'" in capsys.readouterr().out
    assert cli.main(["ci", "--fail-on-warning", "--junit", "junit.xml"]) == 1
    assert ET.parse(demo / "junit.xml").getroot().get("failures") == "1"


def test_init_ci_writes_a_configuration_and_a_workflow(tmp_path, capsys):
    assert cli.main(["init-ci", "--directory", str(tmp_path)]) == 0
    assert (tmp_path / "lester.toml").read_text() == EXAMPLE_CONFIG
    assert (tmp_path / ".github" / "workflows" / "lester-inspect.yml").read_text() == WORKFLOW
    assert capsys.readouterr().out.startswith(f"wrote {tmp_path / 'lester.toml'}\n")
    # Nothing is overwritten unless asked.
    (tmp_path / "lester.toml").write_text("# mine\n")
    assert cli.main(["init-ci", "--directory", str(tmp_path)]) == 2
    assert "lester.toml exists already; pass --force to overwrite it" in capsys.readouterr().err
    assert (tmp_path / "lester.toml").read_text() == "# mine\n"
    assert cli.main(["init-ci", "--directory", str(tmp_path), "--force"]) == 0
    # The example names pipelines/train.py: with a pipeline there, it is a valid configuration.
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "train.py").write_text("")
    (pipeline,) = load_config(str(tmp_path / "lester.toml")).pipelines
    assert [name for name, _ in pipeline.checks] == ["no-bias-introduced-for", "no-illegal-features"]
    assert [c.text for c in pipeline.conditions] == ["n - o > -0.02 +/- 0.05 /\\ d < 0.2 +/- 0.05"]


def test_the_workflow_captures_on_main_and_compares_on_pull_requests():
    import yaml  # pyyaml, of the [test] extra

    workflow = yaml.safe_load(WORKFLOW)
    assert set(workflow[True]) == {"push", "pull_request"}  # YAML 1.1 reads the key `on` as True
    assert workflow[True]["push"] == {"branches": ["main"]}
    steps = {step.get("name", step.get("uses")): step for step in workflow["jobs"]["inspect"]["steps"]}
    command = steps["Checks and model conditions"]["run"]
    assert command.startswith("lester-inspect ci --config lester.toml --junit lester-junit.xml")
    assert "${{ github.event_name == 'push' && '--capture' || '' }}" in command
    assert steps["Save the store"]["with"]["path"] == steps["Restore the store"]["with"]["path"] == ".lester"
    assert steps["Upload the reports"]["if"] == "always()"
    with open(os.path.join(DEMO, ".github", "workflows", "lester-inspect.yml"), encoding="utf-8") as handle:
        assert handle.read() == WORKFLOW


def test_report_writes_the_html_report_of_one_pipeline(demo, tmp_path, capsys):
    output = tmp_path / "report.html"
    code = cli.main(["report", "-o", str(output), "--config", str(demo / "lester.toml"), "--check",
                     "no-duplicate-rows", "--columns", "income,region", str(demo / "pull_requests" / "train.py")])
    assert code == 2  # the pull request's pipeline is not in the configuration
    assert "no pipeline with path" in capsys.readouterr().err
    code = cli.main(["report", "-o", str(output), "--config", str(demo / "lester.toml"), "--check",
                     "no-duplicate-rows", "--columns", "income,region", str(demo / "pipelines" / "train.py")])
    assert code == 0
    assert capsys.readouterr().out.endswith(f"report written to {output} (passed)\n")
    page = output.read_text()
    for name in ("no-bias-introduced-for", "no-illegal-features", "no-train-test-overlap", "no-duplicate-rows"):
        assert f'<span class="verdict-name">{name}</span>' in page
    assert "condition:" not in page  # model conditions belong to the CI gate
    assert "<figcaption>region</figcaption>" in page and "<figcaption>race</figcaption>" in page


def test_report_of_a_missing_pipeline(tmp_path, capsys):
    assert cli.main(["report", "-o", str(tmp_path / "r.html"), str(tmp_path / "missing.py")]) == 2
    assert capsys.readouterr().err == f"lester-inspect: no such pipeline file: {tmp_path / 'missing.py'}\n"
    assert not (tmp_path / "r.html").exists()
