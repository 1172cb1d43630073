"""What the run knows about live user objects, kept beside them and dropped when they die."""
from __future__ import annotations

import weakref
from typing import Any, Dict, Optional, Tuple


class Tracked:
    """The run's knowledge of one object: the node that produced it, or a pending expression.

    A Series taken from a frame (``df['a']``) and what user code computes from it
    (``df['a'].isin([...])``) stay *pending*: they become a node only when they flow
    into another operator as data, so that masks and new columns do not leave
    dangling projection nodes behind.
    """

    __slots__ = ("node", "expression", "annotations")

    def __init__(self, node=None, expression=None, annotations=None):
        self.node = node
        self.expression = expression
        # Per-row annotations of the inspections that run, aligned with the object's rows.
        self.annotations = annotations


class _Forget:
    """Weakref callback that removes an entry unless a newer object reused the id."""

    __slots__ = ("entries", "key")

    def __init__(self, entries, key):
        self.entries = entries
        self.key = key

    def __call__(self, ref):
        entry = self.entries.get(self.key)
        if entry is not None and entry[0] is ref:
            del self.entries[self.key]


class ObjectTable:
    """A side table keyed by object identity that never keeps its keys alive.

    Unlike ``WeakKeyDictionary`` it does not need the objects to be hashable
    (DataFrames are not) and compares by identity, not equality.
    """

    def __init__(self):
        self._entries: Dict[int, Tuple[weakref.ref, Any]] = {}

    def get(self, obj) -> Optional[Any]:
        entry = self._entries.get(id(obj))
        if entry is not None and entry[0]() is obj:
            return entry[1]
        return None

    def set(self, obj, value) -> bool:
        """Remember ``value`` for ``obj``; False when ``obj`` cannot be weakly referenced."""
        key = id(obj)
        try:
            ref = weakref.ref(obj, _Forget(self._entries, key))
        except TypeError:
            return False
        self._entries[key] = (ref, value)
        return True

    def __len__(self) -> int:
        return len(self._entries)
