"""pytest plugin: the ``inspect_pipeline`` fixture, and check summaries beside failing tests.

::

    def test_pipeline_is_fair(inspect_pipeline):
        result = inspect_pipeline("pipeline.py", checks=[NoBiasIntroducedFor(["race"])])
        assert result.passed, result.summary()

A relative path is looked up next to the test file first, then in pytest's root folder.
When a test that inspected pipelines fails, each pipeline's check summary is added to the
failure report as a section ``lester-inspect: <path>``.

pytest imports this module at start-up wherever lester-inspect is installed (entry point
``pytest11``), so it imports nothing heavy until the fixture is used.
"""
from __future__ import annotations

import os
from typing import Iterable, List, Sequence, Tuple

import pytest

_INSPECTED = pytest.StashKey[List[Tuple[str, object]]]()


def _resolve(path: str, request: pytest.FixtureRequest) -> str:
    if os.path.isabs(path):
        return path
    candidates = [os.path.join(os.path.dirname(str(request.path)), path),
                  os.path.join(str(request.config.rootpath), path)]
    for candidate in candidates:
        if os.path.exists(candidate):
            return candidate
    raise FileNotFoundError(f"pipeline {path!r} found neither next to the test ({candidates[0]}) nor in the "
                            f"root folder ({candidates[1]})")


@pytest.fixture
def inspect_pipeline(request: pytest.FixtureRequest):
    """``inspect_pipeline(path, checks=(), inspections=(), args=())`` runs the pipeline and returns its result."""

    def inspect(path: str, checks: Iterable = (), inspections: Iterable = (), args: Sequence[str] = ()):
        from lester_inspect.inspector import PipelineInspector

        result = (PipelineInspector.on_pipeline(_resolve(str(path), request), args=list(args))
                  .add_inspections(inspections).add_checks(checks).execute())
        request.node.stash.setdefault(_INSPECTED, []).append((str(path), result))
        return result

    return inspect


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        for path, result in item.stash.get(_INSPECTED, []):
            if result.check_to_check_results:
                report.sections.append((f"lester-inspect: {path}", result.summary()))
