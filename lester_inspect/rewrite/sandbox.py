"""Running a pipeline script in a separate process with limits, and reading back what its model was fitted on.

Each run gets its own scratch directory as working directory, a time limit
(the whole process group is killed when it expires), a memory limit
(``RLIMIT_AS``, set by the child itself), ``PYTHONHASHSEED=0``, one
OpenMP/BLAS thread unless the environment says otherwise, and an environment
without credentials: variables whose name contains ``KEY``,
``TOKEN``, ``SECRET``, ``PASSWORD`` or ``CREDENTIAL`` or starts with
``OPENAI_`` are removed, so a generated script cannot use the API key.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Dict, Optional, Sequence

import numpy as np

from lester_inspect.rewrite.compare import FitInputs

_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL|^OPENAI_", re.IGNORECASE)
_TAIL_LINES = 25
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@dataclasses.dataclass(frozen=True)
class Limits:
    """Limits of one sandboxed run; ``sample_rows`` makes it read only that many rows of each input file."""

    seconds: float = 300.0
    memory_mb: int = 4096
    sample_rows: Optional[int] = None


@dataclasses.dataclass(frozen=True)
class RunOutcome:
    """A finished sandboxed run: what its model was fitted on, or why there is nothing."""

    error: str
    inputs: Optional[FitInputs]
    report: Dict[str, Any]
    stdout: str
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.error


def child_environment() -> Dict[str, str]:
    environment = {name: value for name, value in os.environ.items() if not _SECRET_NAME.search(name)}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_PARENT, environment.get("PYTHONPATH")]))
    environment["PYTHONHASHSEED"] = "0"
    environment["PYTHONDONTWRITEBYTECODE"] = "1"
    # The original and a candidate run side by side; OpenMP/BLAS thread pools spinning on the
    # same cores doubled the CPU time of a run in measurements. A user's own setting wins.
    for name in _THREAD_VARIABLES:
        environment.setdefault(name, "1")
    return environment


def run_captured(script_text: str, run_as: str, args: Sequence[str], limits: Limits,
                 check_functions: bool = False,
                 on_start: Optional[Callable[[subprocess.Popen], None]] = None) -> RunOutcome:
    """Run ``script_text`` as if it were the file ``run_as`` with ``args``, in a sandbox, and capture its fit inputs.

    ``on_start`` receives the child process, e.g. to kill it (and its process
    group) when the run is no longer needed.
    """
    scratch = tempfile.mkdtemp(prefix="lester-rewrite-")
    started = time.monotonic()
    try:
        script, out, cwd = (os.path.join(scratch, name) for name in ("script.py", "out", "cwd"))
        os.makedirs(out)
        os.makedirs(cwd)
        with open(script, "w", encoding="utf-8") as handle:
            handle.write(script_text)
        command = [sys.executable, "-m", "lester_inspect.rewrite.capture", "--script", script, "--as", run_as,
                   "--out", out, "--memory-mb", str(limits.memory_mb)]
        if limits.sample_rows:
            command += ["--sample-rows", str(limits.sample_rows)]
        if check_functions:
            command.append("--check-functions")
        command += ["--", *args]
        process = subprocess.Popen(command, cwd=cwd, env=child_environment(), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, errors="replace", start_new_session=True)
        if on_start is not None:
            on_start(process)
        try:
            stdout, stderr = process.communicate(timeout=limits.seconds)
        except subprocess.TimeoutExpired:
            kill(process)
            stdout, stderr = process.communicate()
            return RunOutcome(f"the script did not finish within the time limit of {limits.seconds:g} s",
                              None, {}, _tail(stdout), time.monotonic() - started)
        except BaseException:
            # Ctrl-C reaches only our process group: the run would go on without us.
            kill(process)
            process.communicate()
            raise
        seconds = time.monotonic() - started
        report = _read_report(os.path.join(out, "capture.json"))
        if report.get("status") == "ok":
            return RunOutcome("", _fit_inputs(out, report), report, _tail(stdout), seconds)
        return RunOutcome(_failure(report, process.returncode, stderr, limits), None, report, _tail(stdout), seconds)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def kill(process: subprocess.Popen) -> None:
    """Kill a sandboxed run and whatever it started."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _read_report(path: str) -> Dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def _fit_inputs(out: str, report: Dict[str, Any]) -> FitInputs:
    X = np.load(os.path.join(out, "X.npy"), allow_pickle=False)
    y = np.load(os.path.join(out, "y.npy"), allow_pickle=False) if report["has_labels"] else None
    return FitInputs(X, y, report["model"].rsplit(".", 1)[-1], report["params"], tuple(report["feature_names"]))


def _failure(report: Dict[str, Any], returncode: int, stderr: str, limits: Limits) -> str:
    error = report.get("error") or ""
    if "MemoryError" in error or returncode in (-signal.SIGKILL, -signal.SIGSEGV) and not error:
        return (f"the script ran out of memory (limit {limits.memory_mb} MB)\n" + (error or _tail(stderr))).strip()
    if error:
        return error.rstrip()
    return f"the script's process ended with exit status {returncode} without a report:\n{_tail(stderr)}".rstrip()


def _tail(text: str) -> str:
    lines = (text or "").rstrip().splitlines()
    return "\n".join(lines[-_TAIL_LINES:])
