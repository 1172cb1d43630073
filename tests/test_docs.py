"""The documentation runs: the README's example and the docstring examples of the public API."""
import doctest
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_readme_python_example_runs(tmp_path):
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    example = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    example = example.replace('"example_pipelines/', f'"{ROOT}/example_pipelines/')
    completed = subprocess.run([sys.executable, "-c", example], cwd=tmp_path, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    assert "Select: county isin ['county2', 'county3']" in completed.stdout
    assert "FAILURE: NoBiasIntroducedFor" in completed.stdout
    assert (tmp_path / "pipeline.svg").exists() or "dot" in completed.stderr


@pytest.mark.parametrize("module", ["lester_inspect.inspector", "lester_inspect.inspections.lineage",
                                    "lester_inspect.models"])
def test_docstring_examples(module):
    imported = __import__(module, fromlist=["_"])
    failures, attempted = doctest.testmod(imported, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert attempted > 0 and failures == 0
