"""Jupyter: a real kernel (nbclient) runs a notebook with ``%load_ext lester_inspect`` and ``%%inspect``."""
import os

import nbformat
import pytest
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from lester_inspect import PipelineInspector
from lester_inspect.checks import NoBiasIntroducedFor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FRAME = ('import pandas as pd\n'
         'frame = pd.DataFrame({"race": ["a", "a", "b", "b", "b", "b"], "x": [1, 2, 3, 4, 5, 6]})')
SELECT = 'kept = frame[frame["race"] == "b"]'


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    cells = ["%load_ext lester_inspect", FRAME,
             f"%%inspect --check no-bias-introduced-for=race --check no-illegal-features\n{SELECT}",
             "print(type(inspection).__name__, len(kept), inspection.passed)",
             "inspection.check_results_frame()",
             "inspection.check_to_check_results[next(iter(inspection.check_to_check_results))]",
             "%%inspect --result broken\nlarge = frame[frame['x'] > 1]\nmissing = large['no_such_column']",
             "print(type(broken).__name__, broken.dag.number_of_nodes())"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder = tmp_path_factory.mktemp("notebook")
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([ROOT, saved or ""])  # the kernel imports this checkout
    try:
        # Unix sockets, not TCP ports: a free port picked for the kernel could be taken by another test
        # process before the kernel bound it ("Address already in use", seen under pytest-xdist).
        manager = KernelManager(kernel_name="python3", transport="ipc", ip=str(folder / "kernel"))
        NotebookClient(notebook, km=manager, timeout=240, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(folder)}}).execute()
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved
    return notebook.cells


def html_of(cell):
    return "".join(output.get("data", {}).get("text/html", "") for output in cell.outputs)


def test_the_cell_magic_runs_the_cell_in_the_notebooks_namespace(executed):
    assert [o.get("output_type") for o in executed[2].outputs] == ["execute_result"]
    # The cell's variables stay, the result is in `inspection`: the filter halved group a, so the check failed.
    assert executed[3].outputs[0]["text"] == "InspectorResult 4 False\n"


def test_results_render_as_html(executed):
    page = html_of(executed[2])
    assert "<b>InspectorResult</b>" in page and "1 of 2 checks failed" in page
    assert "<svg" in page and "Select: race == &#x27;b&#x27;" in page
    assert "race = &#x27;a&#x27; went from 33.3% to 0.0%" in page
    assert "<table" in html_of(executed[4])  # the result frames: pandas' own HTML
    check = html_of(executed[5])
    assert "FAILURE" in check and "NoBiasIntroducedFor" in check and "<pre" in check


def test_a_cell_that_raises_raises_and_keeps_the_partial_result(executed):
    (error,) = [o for o in executed[6].outputs if o["output_type"] == "error"]
    assert error["ename"] == "KeyError"
    # The partial DAG: the notebook's frame (untracked: made outside the magic) and the filter before the error.
    assert executed[7].outputs[0]["text"] == "InspectorResult 2\n"


def test_html_of_a_run_without_checks():
    result = PipelineInspector.on_pipeline_from_string(f"{FRAME}\n{SELECT}\n").execute()
    page = result._repr_html_()
    assert "no checks" in page and "3 operations" not in page and "2 operations from 2 places" in page
    checked = PipelineInspector.on_pipeline_from_string(f"{FRAME}\n{SELECT}\n").add_check(
        NoBiasIntroducedFor(["race"])).execute()
    assert "1 of 1 checks failed" in checked._repr_html_()
