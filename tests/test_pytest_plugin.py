"""The pytest plugin: the inspect_pipeline fixture, and check summaries in pytest's output."""
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))
DEMO = os.path.join(ROOT, "example_pipelines", "ci_demo")
# Installed pytest plugins the user's tests below do not use: hypothesis's alone costs a second of CPU per pytest.
UNUSED_PLUGINS = ["-p", "no:hypothesispytest", "-p", "no:benchmark", "-p", "no:anyio"]

USER_TESTS = '''
from lester_inspect.checks import NoBiasIntroducedFor, NoIllegalFeatures


def test_pipeline_is_fair(inspect_pipeline):
    result = inspect_pipeline("pipeline.py", checks=[NoBiasIntroducedFor(["race"])])
    assert result.passed, result.summary()


def test_pull_request_is_fair(inspect_pipeline):
    result = inspect_pipeline("pull_request.py", checks=[NoBiasIntroducedFor(["race"]), NoIllegalFeatures()])
    assert result.passed, result.summary()


def test_a_pipeline_from_the_root_folder(inspect_pipeline):
    result = inspect_pipeline("ci_demo/pipelines/train.py", args=["ci_demo/data"])
    assert result.dag.number_of_nodes() == 22


def test_a_missing_pipeline(inspect_pipeline):
    inspect_pipeline("missing.py")
'''


@pytest.fixture(scope="module")
def pytest_run(tmp_path_factory):
    """The user's tests beside the demo pipelines, run by pytest with the plugin, in a subprocess."""
    root = tmp_path_factory.mktemp("user_project")
    shutil.copytree(DEMO, root / "ci_demo", ignore=shutil.ignore_patterns(".lester", "__pycache__"))
    tests = root / "tests"
    tests.mkdir()
    shutil.copy(root / "ci_demo" / "pipelines" / "train.py", tests / "pipeline.py")
    shutil.copy(root / "ci_demo" / "pull_requests" / "train.py", tests / "pull_request.py")
    (tests / "test_pipelines.py").write_text(textwrap.dedent(USER_TESTS))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    # The pipelines read their data relative to themselves: point them at the demo's.
    for name in ("pipeline.py", "pull_request.py"):
        path = tests / name
        path.write_text(path.read_text().replace(
            'os.path.join(repository, "data")', repr(str(root / "ci_demo" / "data"))))
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "lester_inspect.pytest_plugin", "-p",
                             "no:cacheprovider", *UNUSED_PLUGINS, "-rA", str(tests)], cwd=root, env=env,
                            capture_output=True, text=True, timeout=300)
    return result


def test_passing_and_failing_pipelines_are_test_outcomes(pytest_run):
    out = pytest_run.stdout
    assert pytest_run.returncode == 1, out + pytest_run.stderr
    assert "PASSED tests/test_pipelines.py::test_pipeline_is_fair" in out
    assert "FAILED tests/test_pipelines.py::test_pull_request_is_fair" in out
    assert "PASSED tests/test_pipelines.py::test_a_pipeline_from_the_root_folder" in out
    assert out.rstrip().splitlines()[-1].startswith("=") and "2 failed, 2 passed" in out.splitlines()[-1]


def test_a_failing_check_shows_its_summary_in_pytests_output(pytest_run):
    out = pytest_run.stdout
    failure = out[out.index("___ test_pull_request_is_fair ___"):out.index("___ test_a_missing_pipeline ___")]
    summary = ("FAILURE: NoBiasIntroducedFor(columns=['race'], min_allowed_relative_ratio_change=-0.3)\n"
               "  Selection at line 26:13 (Select: has_credit_history): race = 'race3' went from 20.3% to 10.6% "
               "of the rows (-48%), below the allowed -30%\n"
               '  line 26:13: train_data[train_data["has_credit_history"]]\n'
               "2 checks: 1 passed, 1 failed, 0 warnings")
    # In the assertion message the user wrote ...
    assert "AssertionError: " + summary.splitlines()[0] in failure
    # ... and in the plugin's section, which lists every inspected pipeline of the failing test.
    section = failure[failure.index("- lester-inspect: pull_request.py -"):]
    assert summary in section


def test_a_missing_pipeline_names_the_places_looked_at(pytest_run):
    out = pytest_run.stdout
    assert "FileNotFoundError: pipeline 'missing.py' found neither next to the test (" in out
    assert os.path.join("tests", "missing.py") + ") nor in the root folder (" in out


def test_the_plugin_and_the_ci_commands_import_nothing_heavy():
    # pytest imports the plugin in every session wherever lester-inspect is installed, and the
    # command line imports the ci commands to build its parser.
    code = ("import sys, lester_inspect.pytest_plugin, lester_inspect.ci.cli; "
            "print(sorted(m for m in ('pandas', 'sklearn', 'numpy', 'torch', 'networkx') if m in sys.modules))")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert result.stdout == "[]\n"


def test_the_entry_point_and_dash_p_together_register_the_plugin_once(tmp_path):
    # The pytest11 entry point must be *named* lester_inspect.pytest_plugin: pytest then skips it
    # when `-p lester_inspect.pytest_plugin` loaded the module already (under another name, pluggy
    # refuses to register the module twice and pytest stops).
    site = tmp_path / "site" / "lester_inspect_stand_in-1.0.dist-info"
    site.mkdir(parents=True)
    (site / "METADATA").write_text("Metadata-Version: 2.1\nName: lester-inspect-stand-in\nVersion: 1.0\n")
    (site / "entry_points.txt").write_text("[pytest11]\nlester_inspect.pytest_plugin = lester_inspect.pytest_plugin\n")
    (tmp_path / "test_fixture.py").write_text("def test_it(inspect_pipeline):\n    assert callable(inspect_pipeline)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path / "site"), ROOT, os.environ.get("PYTHONPATH", "")]))
    for options in ([], ["-p", "lester_inspect.pytest_plugin"]):
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *UNUSED_PLUGINS,
                                 *options, str(tmp_path / "test_fixture.py")], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "1 passed" in result.stdout
