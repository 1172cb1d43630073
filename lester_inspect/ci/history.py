"""What model conditions remember between CI runs: captured test predictions and used steps.

``ModelHistory`` is the interface the gate uses; ``FileModelHistory`` keeps it in plain
files under ``<store>/ci/``:

* ``models/<pipeline>.npz``: the captured run's test labels, predictions (as strings) and
  test-set fingerprint, written on the main branch (``lester-inspect ci --capture``);
* ``steps.json``: for each condition and test set, the verdicts released so far, one per
  step, so that a test set's budget of steps survives between runs.

Invariant: every file is always complete. Writes go to ``<file>.<pid>.tmp`` and are moved
into place with ``os.replace``, which is atomic on POSIX and Windows, so a CI job killed
mid-write leaves the previous version, never half a file.
"""
from __future__ import annotations

import abc
import dataclasses
import hashlib
import json
import os
import re
import zipfile
from typing import Optional, Tuple

import numpy as np


class HistoryError(RuntimeError):
    """The store cannot be read or written; the message names the file."""


@dataclasses.dataclass(frozen=True)
class CapturedRun:
    """A model's predictions on the test examples.

    ``labels`` and ``predictions`` are string arrays (see ``predictions.canonical``);
    ``labels`` is None when the pipeline only predicted and never scored. ``test_set``
    fingerprints the test examples, so that runs on different test data are not compared.
    """

    labels: Optional[np.ndarray]
    predictions: np.ndarray
    test_set: str

    @property
    def accuracy(self) -> Optional[float]:
        if self.labels is None or len(self.labels) == 0:
            return None
        return float(np.mean(self.labels == self.predictions))


@dataclasses.dataclass(frozen=True)
class ConditionSteps:
    """The verdicts released for one condition on one test set, oldest first."""

    verdicts: Tuple[bool, ...] = ()

    @property
    def used(self) -> int:
        return len(self.verdicts)

    @property
    def first_change(self) -> Optional[int]:
        """The 1-based step whose verdict first differed from the one before, if any."""
        for step in range(1, len(self.verdicts)):
            if self.verdicts[step] != self.verdicts[step - 1]:
                return step + 1
        return None


class ModelHistory(abc.ABC):
    """Captured runs by pipeline and used steps by condition."""

    @abc.abstractmethod
    def previous(self, pipeline_key: str) -> Optional[CapturedRun]:
        """The run captured last for ``pipeline_key``, or None."""

    @abc.abstractmethod
    def record(self, pipeline_key: str, run: CapturedRun) -> None:
        """Make ``run`` the one ``previous(pipeline_key)`` returns."""

    @abc.abstractmethod
    def steps(self, condition_key: str) -> ConditionSteps:
        """The verdicts released so far for ``condition_key``."""

    @abc.abstractmethod
    def use_step(self, condition_key: str, verdict: bool) -> None:
        """Count one more released verdict for ``condition_key``."""


class FileModelHistory(ModelHistory):
    """The history as files under ``<store>/ci/`` (the store defaults to ``.lester``)."""

    def __init__(self, store: str):
        self.directory = os.path.join(str(store), "ci")

    def _model_path(self, pipeline_key: str) -> str:
        readable = re.sub(r"[^A-Za-z0-9._-]+", "_", pipeline_key).strip("_")[:80]
        digest = hashlib.sha1(pipeline_key.encode("utf-8")).hexdigest()[:10]
        return os.path.join(self.directory, "models", f"{readable}-{digest}.npz")

    @property
    def _steps_path(self) -> str:
        return os.path.join(self.directory, "steps.json")

    def previous(self, pipeline_key: str) -> Optional[CapturedRun]:
        path = self._model_path(pipeline_key)
        if not os.path.exists(path):
            return None
        try:
            with np.load(path, allow_pickle=False) as stored:
                has_labels = bool(stored["has_labels"])
                run = CapturedRun(stored["labels"] if has_labels else None, stored["predictions"],
                                  str(stored["test_set"]))
        except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as error:
            raise HistoryError(f"{path}: corrupt captured run ({type(error).__name__}: {error}); "
                               "delete it and capture again") from error
        if run.predictions.ndim != 1 or (run.labels is not None and run.labels.shape != run.predictions.shape):
            raise HistoryError(f"{path}: corrupt captured run (labels and predictions do not match); "
                               "delete it and capture again")
        return run

    def record(self, pipeline_key: str, run: CapturedRun) -> None:
        labels = run.labels if run.labels is not None else np.array([], dtype=str)

        def write(handle):
            np.savez(handle, labels=labels, predictions=run.predictions, test_set=np.array(run.test_set),
                     has_labels=np.array(run.labels is not None))

        _write_atomically(self._model_path(pipeline_key), write, binary=True)

    def _all_steps(self) -> dict:
        path = self._steps_path
        if not os.path.exists(path):
            return {}
        try:
            with open(path, encoding="utf-8") as handle:
                stored = json.load(handle)
        except (OSError, ValueError) as error:
            raise HistoryError(f"{path}: corrupt step counts ({error}); restore it or delete it, which "
                               "resets every test set's budget of steps") from error
        valid = isinstance(stored, dict) and all(
            isinstance(entry, dict) and isinstance(entry.get("verdicts"), list)
            and all(isinstance(v, bool) for v in entry["verdicts"]) for entry in stored.values())
        if not valid:
            raise HistoryError(f"{path}: corrupt step counts (expected {{condition: {{\"verdicts\": "
                               "[true, false, ...]}}}); restore it or delete it, which resets every "
                               "test set's budget of steps")
        return stored

    def steps(self, condition_key: str) -> ConditionSteps:
        entry = self._all_steps().get(condition_key)
        return ConditionSteps(tuple(entry["verdicts"])) if entry else ConditionSteps()

    def use_step(self, condition_key: str, verdict: bool) -> None:
        stored = self._all_steps()
        stored.setdefault(condition_key, {"verdicts": []})["verdicts"].append(bool(verdict))
        text = json.dumps(stored, indent=1, sort_keys=True)
        _write_atomically(self._steps_path, lambda handle: handle.write(text), binary=False)


def _write_atomically(path: str, write, binary: bool) -> None:
    directory = os.path.dirname(path)
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(directory, exist_ok=True)
        with open(temporary, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as handle:
            write(handle)
        os.replace(temporary, path)
    except OSError as error:
        raise HistoryError(f"cannot write {path}: {error}") from error
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
