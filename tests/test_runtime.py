"""The instrumented run behaves like ``python pipeline.py``, and leaves no trace behind."""
import os
import subprocess
import sys
import textwrap
import warnings

import nbformat
import pandas as pd
import pytest

from lester_inspect import PipelineInspector
from lester_inspect.instrumentation.source import PipelineSourceError

from conftest import summarize

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = ["healthcare", "compas_like", "adult_like"]


def _library_state():
    """Every attribute of every pandas/sklearn module and class, by identity."""
    state = {}
    for name, module in list(sys.modules.items()):
        if not name.split(".")[0] in ("pandas", "sklearn", "warnings") or module is None:
            continue
        state[name] = {key: id(value) for key, value in vars(module).items()}
        for key, value in list(vars(module).items()):
            if isinstance(value, type) and value.__module__ == name:
                state[f"{name}.{key}"] = {k: id(v) for k, v in vars(value).items() if k != "__slotnames__"}
    return state


def _write(directory, name, code):
    path = directory / name
    path.write_text(textwrap.dedent(code))
    return str(path)


def test_runs_like_python_argv_main_file_path_and_local_imports(tmp_path, capfd):
    _write(tmp_path, "helper.py", "def twice(x):\n    return 2 * x\n")
    script = _write(tmp_path, "pipeline.py", """
        import os, sys
        from helper import twice
        print(__name__, os.path.basename(__file__), sys.argv[1:], twice(21))
        print(os.path.basename(sys.path[0]), os.getcwd())
        """)
    plain = subprocess.run([sys.executable, script, "--rows", "7"], capture_output=True, text=True, check=True)
    PipelineInspector.on_pipeline(script, args=["--rows", 7]).execute()
    assert capfd.readouterr().out == plain.stdout
    assert plain.stdout.startswith("__main__ pipeline.py ['--rows', '7'] 42")
    assert str(tmp_path) not in sys.path and "helper" in sys.modules
    del sys.modules["helper"]


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_pipelines_print_the_same_as_plain_python(example, run_as_main, capfd):
    # Both in this process: tests/test_example_pipelines_plain.py shows a plain run here prints what
    # ``python pipeline.py`` prints.
    pipeline = os.path.join(ROOT, "example_pipelines", example, "pipeline.py")
    plain = run_as_main(pipeline)
    result = PipelineInspector.on_pipeline(pipeline).execute()
    assert not result.internal_errors, result.internal_errors
    assert capfd.readouterr().out == plain and plain.strip()


def test_libraries_are_restored_after_success_error_and_interrupt(tmp_path):
    import sklearn.compose  # noqa: F401  (make sure the classes we patch are loaded before the snapshot)
    import sklearn.pipeline  # noqa: F401

    before = _library_state()
    ok = _write(tmp_path, "ok.py", """
        import pandas as pd
        from sklearn.preprocessing import StandardScaler
        df = pd.DataFrame({"a": [1.0, 2.0]})
        StandardScaler().fit_transform(df[df["a"] > 0])
        """)
    PipelineInspector.on_pipeline(ok).execute()
    assert _library_state() == before
    failing = _write(tmp_path, "fail.py", "import pandas as pd\npd.DataFrame({'a': [1]})['missing']\n")
    with pytest.raises(KeyError):
        PipelineInspector.on_pipeline(failing).execute()
    assert _library_state() == before
    interrupted = _write(tmp_path, "interrupt.py", "import pandas as pd\npd.DataFrame()\nraise KeyboardInterrupt\n")
    with pytest.raises(KeyboardInterrupt):
        PipelineInspector.on_pipeline(interrupted).execute()
    assert _library_state() == before
    assert pd.DataFrame.merge.__module__ == "pandas.core.frame"
    _estimators_still_work()


def _estimators_still_work():
    """Behaviour, not only attributes: construction, parameters, fitting after the runs."""
    from sklearn.base import BaseEstimator, TransformerMixin, clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    class Parameterless(TransformerMixin, BaseEstimator):
        def fit(self, X, y=None):
            return self

        def transform(self, X):
            return X

    model = Pipeline([("keep", Parameterless()), ("model", LogisticRegression(C=0.5))])
    assert clone(model).get_params()["model__C"] == 0.5 and Parameterless().get_params() == {}
    assert model.fit([[0.0], [1.0]], [0, 1]).predict([[1.0]]).tolist() == [1]
    assert hasattr(model, "predict_proba") and not hasattr(Pipeline([("keep", Parameterless())]), "predict")


def test_two_runs_in_one_process_give_identical_dags():
    pipeline = os.path.join(ROOT, "example_pipelines", "compas_like", "pipeline.py")
    first = PipelineInspector.on_pipeline(pipeline).execute()
    second = PipelineInspector.on_pipeline(pipeline).execute()
    assert summarize(first) == summarize(second)
    assert [n.code_location for n in first.nodes] == [n.code_location for n in second.nodes]
    assert first.dag_text() == second.dag_text()


def test_user_exception_propagates_with_user_traceback_and_partial_dag(tmp_path):
    script = _write(tmp_path, "pipeline.py", """
        import pandas as pd
        df = pd.DataFrame({"a": [1, 2]})
        df = df[df["a"] > 1]
        def broken(frame):
            return frame.merge(frame, on="no_such_column")
        broken(df)
        """)
    with pytest.raises(KeyError) as caught:
        PipelineInspector.on_pipeline(script).execute()
    frames = [(frame.f_code.co_filename, lineno) for frame, lineno in
              __import__("traceback").walk_tb(caught.value.__traceback__)]
    user_frames = [f for f in frames if f[0] == script]
    assert [line for _, line in user_frames] == [7, 6]
    assert not any("/lester_inspect/" in filename for filename, _ in frames[frames.index(user_frames[0]):])
    assert summarize(caught.value.partial_result) == [
        (0, "DATA_SOURCE", "Create DataFrame from dict", []), (1, "SELECTION", "Select: a > 1", [0])]


def test_syntax_error_and_missing_files_name_file_and_line(tmp_path):
    script = _write(tmp_path, "pipeline.py", "import pandas as pd\n\nx = (1,\n")
    with pytest.raises(PipelineSourceError, match=r"pipeline\.py, line 3: syntax error"):
        PipelineInspector.on_pipeline(script).execute()
    with pytest.raises(PipelineSourceError, match="nothing_here.py: no such pipeline file"):
        PipelineInspector.on_pipeline(str(tmp_path / "nothing_here.py")).execute()
    missing_data = _write(tmp_path, "reads.py", "import pandas as pd\npd.read_csv('absent.csv')\n")
    with pytest.raises(FileNotFoundError, match="absent.csv") as caught:
        PipelineInspector.on_pipeline(missing_data).execute()
    assert any(frame.f_code.co_filename == missing_data and lineno == 2
               for frame, lineno in __import__("traceback").walk_tb(caught.value.__traceback__))


def test_system_exit_zero_completes_and_nonzero_propagates(tmp_path):
    zero = _write(tmp_path, "zero.py", "import sys, pandas as pd\npd.DataFrame({'a': [1]})\nsys.exit(0)\n")
    assert len(PipelineInspector.on_pipeline(zero).execute().nodes) == 1
    three = _write(tmp_path, "three.py", "import sys\nsys.exit(3)\n")
    with pytest.raises(SystemExit) as caught:
        PipelineInspector.on_pipeline(three).execute()
    assert caught.value.code == 3


def test_notebooks_are_run_cell_after_cell_without_magics(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# Example"),
                      nbformat.v4.new_code_cell("%matplotlib inline\nimport pandas as pd\ndf = pd.DataFrame({'a': [1, 2]})"),
                      nbformat.v4.new_code_cell("!ls\ndf = df[df['a'] > 1]\nprint(len(df))")]
    path = tmp_path / "analysis.ipynb"
    nbformat.write(notebook, str(path))
    result = PipelineInspector.on_pipeline(str(path)).execute()
    assert summarize(result) == [(0, "DATA_SOURCE", "Create DataFrame from dict", []),
                                 (1, "SELECTION", "Select: a > 1", [0])]
    assert result.nodes[1].source_code == "df[df['a'] > 1]"
    # Locations name the cell (markdown cells count) and the line in it, not a line of the joined code.
    assert [str(n.code_location) for n in result.nodes] == ["cell 2, line 3:5", "cell 3, line 2:5"]
    assert result.dag_text().splitlines()[1] == "  1  Selection            cell 3, line 2:5 Select: a > 1  <- 0"


def test_library_warnings_point_at_the_users_line(tmp_path):
    script = _write(tmp_path, "pipeline.py", """
        import pandas as pd
        df = pd.DataFrame({"a": [1.0, None]})
        df.dropna(inplace=True)
        """)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        PipelineInspector.on_pipeline(script).execute()
    assert [(w.filename, w.lineno) for w in caught if "inplace" in str(w.message)] == [(script, 4)]


def test_unsupported_operations_and_our_own_failures_never_break_the_run(tmp_path, monkeypatch):
    import lester_inspect.backends.pandas_backend as pandas_backend

    def failing_merge_handler(call, result):
        raise RuntimeError("bookkeeping bug")

    monkeypatch.setattr(pandas_backend, "merge", failing_merge_handler)
    monkeypatch.setitem(pandas_backend._FUNCTIONS, "merge", failing_merge_handler)
    script = _write(tmp_path, "pipeline.py", """
        import pandas as pd
        df = pd.DataFrame({"k": ["a", "b"], "v": [1, 2]})
        wide = df.T.T  # a property lester-inspect does not patch
        joined = df.merge(df, on="k")
        print(len(wide[wide["v"] > 1]), len(joined))
        """)
    result = PipelineInspector.on_pipeline(script).execute()
    assert [n.operator_type.name for n in result.nodes] == ["DATA_SOURCE", "DATA_SOURCE", "SELECTION"]
    assert result.nodes[1].description.startswith("Untracked DataFrame")
    assert len(result.internal_errors) == 1 and "bookkeeping bug" in result.internal_errors[0]


def test_dag_renderings(tmp_path, monkeypatch):
    result = PipelineInspector.on_pipeline_from_string(
        "import pandas as pd\ndf = pd.DataFrame({'a': [1]})\ndf = df[df['a'] > 0]\n").execute()
    assert result.dag_text().splitlines() == [
        "  0  Data Source          line 2:5     Create DataFrame from dict",
        "  1  Selection            line 3:5     Select: a > 0  <- 0"]
    dot = result.save_dag(str(tmp_path / "dag.dot"))
    assert "n0 -> n1;" in open(dot).read()
    import shutil

    if shutil.which("dot"):
        svg = open(result.save_dag(str(tmp_path / "dag.svg"))).read()
        assert svg.lstrip().startswith("<?xml") and "Select: a &gt; 0" in svg
    monkeypatch.setattr(shutil, "which", lambda name: None)
    from lester_inspect.result import GraphvizMissingError

    with pytest.raises(GraphvizMissingError, match="a PNG needs Graphviz's 'dot' .*apt-get install graphviz"):
        result.save_dag(str(tmp_path / "dag.png"))
    assert not (tmp_path / "dag.png").exists()
    drawn = open(result.save_dag(str(tmp_path / "drawn.svg")), encoding="utf-8").read()  # our own layout
    assert drawn.startswith("<?xml") and drawn.count('class="op op-unchecked"') == 2
    assert "Select: a &gt; 0" in drawn and "<path class=\"edge\"" in drawn


def test_import_is_light():
    modules = subprocess.run(
        [sys.executable, "-c", "import sys, lester_inspect\nprint(sorted(m for m in "
                               "('torch', 'openai', 'duckdb', 'pandas', 'sklearn', 'networkx') if m in sys.modules))"],
        capture_output=True, text=True, check=True).stdout.strip()
    assert modules == "[]"


def test_cli_run_prints_the_dag_with_code_locations(capfd):
    from lester_inspect.cli import main

    # In this process: the installed command's own process is tested below.
    pipeline = os.path.join(ROOT, "example_pipelines", "healthcare", "pipeline.py")
    assert main(["run", pipeline]) == 0
    lines = capfd.readouterr().out.splitlines()
    assert lines[0].startswith("Mean accuracy: ")
    assert any("Selection" in line and "Select: county isin ['county2', 'county3']" in line for line in lines)
    assert any("Estimator" in line and "TorchMLPClassifier: fit" in line for line in lines)
    assert main(["run", "no_such_pipeline.py"]) == 2
    assert "no_such_pipeline.py: no such pipeline file" in capfd.readouterr().err


def test_cli_version_and_help_name_every_command(capsys):
    import lester_inspect
    from lester_inspect.cli import main

    # The installed command, in its own process.
    version = subprocess.run(["lester-inspect", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.strip() == f"lester-inspect {lester_inspect.__version__}"
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    help_text = capsys.readouterr().out
    for command in ("run", "capture", "runs", "changes", "affected", "forget", "demo", "rewrite", "ci", "init-ci",
                    "report"):
        assert command in help_text


def test_the_runs_dag_is_networkx_free_until_asked_for_and_converts_exactly():
    """networkx is imported only when ``result.dag`` is read (a fresh process tells), and the graph is the run's."""
    code = """
import sys
from lester_inspect import PipelineInspector
from lester_inspect.inspections import RowLineage
result = (PipelineInspector.on_pipeline_from_string(
    "import pandas as pd\\n"
    "a = pd.DataFrame({'k': [1, 2], 'x': [5, 6]})\\n"
    "b = pd.DataFrame({'k': [2, 1], 'y': [7, 8]})\\n"
    "c = a.merge(b, on='k').dropna()\\n").add_inspection(RowLineage(2)).execute())
print(result.summary().splitlines()[-1], "networkx" in sys.modules)
from lester_inspect.instrumentation.dag import ancestors
graph = result.dag
print(type(graph).__name__, [n.node_id for n in graph.nodes], sorted((p.node_id, c.node_id, d)
      for p, c, d in graph.edges(data="input_index")), graph.graph["pipeline"] is not None,
      all(ancestors(graph, n) == ancestors(result._graph, n) for n in graph.nodes))
"""
    lines = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert lines[-2] == "0 checks: 0 passed, 0 failed, 0 warnings False"
    assert lines[-1] == "DiGraph [0, 1, 2, 3] [(0, 2, 0), (1, 2, 1), (2, 3, 0)] True True"
