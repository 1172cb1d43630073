import os

# pytest -n auto runs one test process per core; they share this machine's cores, and so do the pipelines they run
# in subprocesses: BLAS and torch thread pools sized to every core would fight over them.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import runpy
import sys
import textwrap

import pytest

from lester_inspect import PipelineInspector
from lester_inspect.instrumentation.dag import CodeLocation


def locate(code: str, snippet: str, occurrence: int = 1) -> CodeLocation:
    """The code location of the ``occurrence``-th ``snippet`` in ``code``, found by text search."""
    start = -1
    for _ in range(occurrence):
        start = code.index(snippet, start + 1)
    end = start + len(snippet)
    before, through = code[:start], code[:end]
    lineno, end_lineno = before.count("\n") + 1, through.count("\n") + 1
    col = len(before.rsplit("\n", 1)[-1].encode("utf-8"))
    end_col = len(through.rsplit("\n", 1)[-1].encode("utf-8"))
    return CodeLocation(lineno, col, end_lineno, end_col)


def summarize(result):
    """(id, operator type name, description, parent ids) for each node in execution order."""
    return [(n.node_id, n.operator_type.name, n.description, [p.node_id for p in result.parents(n)])
            for n in result.nodes]


@pytest.fixture
def inspect_code():
    def run(code: str, **kwargs):
        return PipelineInspector.on_pipeline_from_string(textwrap.dedent(code), **kwargs).execute()

    return run


@pytest.fixture
def run_as_main(monkeypatch, capfd):
    """``run(path, *args)``: what ``python path args`` prints, run in this process (no new Python and torch to
    start); ``sys.argv`` and ``sys.path[0]`` are set as ``python`` sets them."""
    def run(path, *args):
        path = str(path)
        monkeypatch.setattr(sys, "argv", [path, *map(str, args)])
        monkeypatch.setattr(sys, "path", [os.path.dirname(os.path.abspath(path)), *sys.path])
        capfd.readouterr()
        runpy.run_path(path, run_name="__main__")
        return capfd.readouterr().out

    return run


@pytest.fixture
def killed_at():
    """``run(crash_at, function)``: the exit code of ``function()`` in a forked copy of the test process, killed at
    ``files.crash_point(crash_at)`` (137) — as abrupt as killing a command's process, without starting Python
    and torch again; 0 if no crash point fired."""
    import multiprocessing

    def run(crash_at, function):
        def killed():
            os.environ["LESTER_INSPECT_CRASH_AT"] = crash_at
            function()
            os._exit(0)

        process = multiprocessing.get_context("fork").Process(target=killed)
        process.start()
        process.join(timeout=300)
        return process.exitcode

    return run
