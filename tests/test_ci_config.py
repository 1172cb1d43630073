"""The CI configuration: lester.toml or [tool.lester-inspect] in pyproject.toml; errors name the key."""
import os
import textwrap

import pytest

from lester_inspect.checks import NoBiasIntroducedFor, NoIllegalFeatures
from lester_inspect.ci.config import ConfigError, find_config, load_config


@pytest.fixture
def repository(tmp_path):
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "train.py").write_text("print('training')\n")
    return tmp_path


def write(directory, text, name="lester.toml"):
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_the_issue_example_configuration(repository):
    path = write(repository, """
        [[pipelines]]
        path = "pipelines/train.py"            # relative to the configuration file, or absolute
        [pipelines.checks]
        no-bias-introduced-for = { columns = ["race"], min_allowed_relative_ratio_change = -0.3 }
        no-illegal-features = {}
        """)
    config = load_config(path)
    (pipeline,) = config.pipelines
    assert pipeline.name == "pipelines/train.py"
    assert pipeline.path == str(repository / "pipelines" / "train.py")
    assert pipeline.checks == (("no-bias-introduced-for", NoBiasIntroducedFor(["race"], -0.3)),
                               ("no-illegal-features", NoIllegalFeatures()))
    assert pipeline.conditions == ()
    assert pipeline.store == str(repository / ".lester")
    assert pipeline.capture is False
    assert pipeline.columns_of_interest == ("race",)


def test_every_pipeline_key(repository, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "absolute.py"
    elsewhere.write_text("")
    path = write(repository, f"""
        [[pipelines]]
        path = "pipelines/train.py"
        name = "training"
        args = ["data/", 3]
        store = "build/store"
        report_columns = ["income"]
        [pipelines.checks]
        no-bias-introduced-for = {{ columns = ["race", "age_group"] }}
        [[pipelines.conditions]]
        condition = "n > 0.7 +/- 0.05"
        reliability = 0.99
        adaptivity = "none"
        steps = 10
        mode = "fn-free"
        [[pipelines.conditions]]
        condition = 'd < 0.1 +/- 0.05 /\\ n - o > 0 +/- 0.1'

        [[pipelines]]
        path = "{elsewhere}"
        capture = true
        [pipelines.conditions]
        condition = "d < 0.2 +/- 0.1"
        """)
    training, absolute = load_config(path).pipelines
    assert training.name == "training"
    assert training.args == ("data/", "3")
    assert training.store == str(repository / "build" / "store")
    assert training.columns_of_interest == ("income", "race", "age_group")
    first, second = training.conditions
    assert (first.text, first.reliability, first.adaptivity, first.steps, first.mode) == (
        "n > 0.7 +/- 0.05", 0.99, "none", 10, "fn-free")
    assert (second.text, second.reliability, second.adaptivity, second.steps, second.mode) == (
        "d < 0.1 +/- 0.05 /\\ n - o > 0 +/- 0.1", 0.999, "full", 32, "fp-free")
    assert training.capture is True  # by default, pipelines with conditions are captured
    assert absolute.path == str(elsewhere)
    assert [c.text for c in absolute.conditions] == ["d < 0.2 +/- 0.1"]


@pytest.mark.parametrize("body, message", [
    ('[pipelines.checks]\nno-such-check = {}',
     "pipelines[0].checks.no-such-check: unknown check 'no-such-check'; known checks: group-fairness, "
     "no-bias-accumulated-for, "),
    ('[pipelines.checks]\nno-bias-introduced-for = { colums = ["race"] }',
     "pipelines[0].checks.no-bias-introduced-for: unknown parameter 'colums'; it takes columns, "
     "min_allowed_relative_ratio_change"),
    ('[pipelines.checks]\nno-illegal-features = true',
     "pipelines[0].checks.no-illegal-features: expected a table of parameters such as {}, got True"),
    ('[pipelines.checks]\nno-bias-introduced-for = {}',
     "pipelines[0].checks.no-bias-introduced-for: "),
    ('chekcs = {}', "pipelines[0].chekcs: unknown key; a pipeline takes path, name, args, checks, conditions"),
    ('args = "data"', "pipelines[0].args: expected a list of strings, got 'data'"),
    ('capture = "yes"', "pipelines[0].capture: expected true or false, got 'yes'"),
    ('[pipelines.conditions]\ncondition = "n >> 1 +/- 0.1"',
     "pipelines[0].conditions[0].condition: condition 'n >> 1 +/- 0.1': expected a number at column 4"),
    ('[pipelines.conditions]\ncondition = "n > 0.5 +/- 0.1"\nreliability = 1.5',
     "pipelines[0].conditions[0].reliability: reliability must be a number strictly between 0 and 1, got 1.5"),
    ('[pipelines.conditions]\ncondition = "n > 0.5 +/- 0.1"\nsteps = 0',
     "pipelines[0].conditions[0].steps: steps must be a whole number of at least 1, got 0"),
    ('[pipelines.conditions]\ncondition = "n > 0.5 +/- 0.1"\nadaptivity = "half"',
     "pipelines[0].conditions[0].adaptivity: adaptivity must be one of"),
    ('[pipelines.conditions]\ncondition = "n > 0.5 +/- 0.1"\nconfidence = 0.9',
     "pipelines[0].conditions[0].confidence: unknown key; a condition takes condition, reliability, adaptivity"),
    ('[pipelines.conditions]\nreliability = 0.9', "pipelines[0].conditions[0].condition: expected a condition"),
])
def test_errors_name_the_offending_key(repository, body, message):
    path = write(repository, '[[pipelines]]\npath = "pipelines/train.py"\n' + body + "\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(f"{path}: {message}")


def test_a_missing_pipeline_file_is_a_configuration_error(repository):
    path = write(repository, '[[pipelines]]\npath = "pipelines/missing.py"\n')
    with pytest.raises(ConfigError, match=r"pipelines\[0\]\.path: no such pipeline file: .*missing\.py"):
        load_config(path)


@pytest.mark.parametrize("text, message", [
    ("", "pipelines: expected at least one [[pipelines]] table with a path"),
    ("pipelines = 3", "pipelines: expected at least one"),
    ('[[pipelines]]\nname = "x"', "pipelines[0].path: expected the pipeline's file"),
    ('checks = {}\n[[pipelines]]\npath = "pipelines/train.py"', "checks: unknown key; the configuration has a list"),
    ('[[pipelines]]\npath = "pipelines/train.py"\n[[pipelines]]\npath = "pipelines/train.py"',
     "pipelines[1].name: 'pipelines/train.py' names two pipelines"),
])
def test_structural_errors(repository, text, message):
    path = write(repository, text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(f"{path}: {message}")


def test_invalid_toml_is_reported_with_its_position(repository):
    path = write(repository, '[[pipelines]]\npath = "pipelines/train.py\n')
    with pytest.raises(ConfigError, match=r"lester\.toml: not valid TOML: .*line 2"):
        load_config(path)


def test_a_missing_configuration_file(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.toml: no such configuration file"):
        load_config(str(tmp_path / "nope.toml"))


def test_pyproject_toml_under_tool_lester_inspect(repository):
    path = write(repository, """
        [project]
        name = "demo"
        [[tool.lester-inspect.pipelines]]
        path = "pipelines/train.py"
        [tool.lester-inspect.pipelines.checks]
        no-illegal-features = { additional_illegal_feature_names = ["zip"] }
        """, name="pyproject.toml")
    (pipeline,) = load_config(path).pipelines
    assert pipeline.checks == (("no-illegal-features", NoIllegalFeatures(["zip"])),)


def test_pyproject_errors_name_the_full_key(repository):
    path = write(repository, '[[tool.lester-inspect.pipelines]]\npath = "pipelines/train.py"\nchecks = 1\n',
                 name="pyproject.toml")
    with pytest.raises(ConfigError, match=r"pyproject\.toml: tool\.lester-inspect\.pipelines\[0\]\.checks: "):
        load_config(path)
    other = write(repository, '[project]\nname = "x"\n', name="pyproject.toml")
    with pytest.raises(ConfigError, match=r"pyproject\.toml: no \[tool\.lester-inspect\] table"):
        load_config(other)


def test_find_config_prefers_lester_toml_then_pyproject(repository):
    with pytest.raises(ConfigError, match="no configuration found in .*: create lester.toml"):
        find_config(str(repository))
    write(repository, '[project]\nname = "x"\n', name="pyproject.toml")
    with pytest.raises(ConfigError, match="no configuration found"):
        find_config(str(repository))
    pyproject = write(repository, '[[tool.lester-inspect.pipelines]]\npath = "pipelines/train.py"\n',
                      name="pyproject.toml")
    assert find_config(str(repository)) == pyproject
    lester = write(repository, '[[pipelines]]\npath = "pipelines/train.py"\n')
    assert find_config(str(repository)) == lester
    assert os.path.basename(find_config(str(repository))) == "lester.toml"


def test_every_check_commented_in_the_example_configuration_is_valid():
    """The commented-out examples of `init-ci`'s lester.toml build, with their parameters, once uncommented."""
    import re
    import tomllib

    from lester_inspect.checks.registry import available_checks, make_check
    from lester_inspect.ci.scaffold import EXAMPLE_CONFIG

    commented = re.findall(r"^# ([a-z-]+) = (\{.*\})$", EXAMPLE_CONFIG, re.M)
    names = [name for name, _ in commented]
    assert {"no-label-errors", "no-covariate-shift", "group-fairness"} <= set(names)
    for name, table in commented:
        check = make_check(name, tomllib.loads(f"x = {table}")["x"])
        assert type(check) is available_checks()[name]
