"""The documentation runs: the README's example and the docstring examples of the public API."""
import doctest
import os
import re
import shutil

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_readme_python_example_runs_without_graphviz(tmp_path, monkeypatch, capfd):
    """On a machine without Graphviz (``dot`` hidden from PATH) the DAG is drawn by our own layout."""
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    example = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    example = example.replace('"example_pipelines/', f'"{ROOT}/example_pipelines/')
    path = os.pathsep.join(folder for folder in os.environ.get("PATH", "").split(os.pathsep)
                           if folder and not os.path.exists(os.path.join(folder, "dot")))
    # In this process (a new one would start Python and torch again for one pipeline run).
    monkeypatch.setenv("PATH", path)
    monkeypatch.chdir(tmp_path)
    assert shutil.which("dot") is None
    exec(compile(example, "README.md", "exec"), {"__name__": "readme_example"})
    out = capfd.readouterr().out
    assert "Select: county isin ['county2', 'county3']" in out
    assert "FAILURE: NoBiasIntroducedFor" in out
    svg = (tmp_path / "pipeline.svg").read_text(encoding="utf-8")
    assert 'class="op op-failed"' in svg and "Select: county isin" in svg


@pytest.mark.parametrize("module", ["lester_inspect.inspector", "lester_inspect.inspections.lineage",
                                    "lester_inspect.models"])
def test_docstring_examples(module):
    imported = __import__(module, fromlist=["_"])
    failures, attempted = doctest.testmod(imported, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert attempted > 0 and failures == 0
