"""Crash-safe file writes and the store lock.

Invariant: a file in the store is always complete. New content is written to a
temporary file in the same folder, flushed to disk, and renamed over the old one
(POSIX rename is atomic), so a crash leaves either the old or the new file.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pickle
from typing import Any, Iterator

import numpy as np

_CRASH_POINT = "LESTER_INSPECT_CRASH_AT"


def write_atomically(path: str, content: bytes) -> None:
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _sync_folder(os.path.dirname(path) or ".")


def write_json(path: str, value: Any) -> None:
    write_atomically(path, json.dumps(value, indent=1, sort_keys=True).encode("utf-8"))


def read_json(path: str) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def write_array(path: str, array: np.ndarray) -> None:
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "wb") as handle:
        np.save(handle, np.ascontiguousarray(array), allow_pickle=False)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def write_pickle(path: str, value: Any) -> None:
    write_atomically(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


def read_pickle(path: str) -> Any:
    with open(path, "rb") as handle:
        return pickle.load(handle)


def _sync_folder(folder: str) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def overwrite_with_zeros(path: str) -> None:
    """Zero a file's bytes on disk before it is removed, so no old value lingers in it."""
    size = os.path.getsize(path)
    with open(path, "r+b") as handle:
        handle.write(b"\0" * size)
        handle.flush()
        os.fsync(handle.fileno())
    os.remove(path)


@contextlib.contextmanager
def locked(store: str, exclusive: bool = True) -> Iterator[None]:
    """Serialise writers (capture, forget) on one store; readers share the lock."""
    os.makedirs(store, exist_ok=True)
    with open(os.path.join(store, ".lock"), "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def crash_point(name: str) -> None:
    """Tests kill ``forget`` here (``LESTER_INSPECT_CRASH_AT=name``) to prove it is crash safe."""
    if os.environ.get(_CRASH_POINT) == name:
        os._exit(137)
