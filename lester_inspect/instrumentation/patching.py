"""Applying monkey patches with gorilla and reverting them so that every patched object is exactly as before.

gorilla applies the patches. The originals are kept here rather than in gorilla's
store on the destination, for two reasons found the hard way: gorilla reads the
original with ``object.__getattribute__``, which binds classmethods and sklearn's
``available_if`` descriptors (reverting would write the bound object back), and
an abstract original stored as a class attribute (sklearn's
``BaseDecisionTree.__init__``) makes every subclass defined during the run abstract.
"""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

import gorilla

_SETTINGS = gorilla.Settings(allow_hit=True, store_hit=False)
_MISSING = object()


class PatchSet:
    """The patches of one run. ``revert`` undoes them in reverse order, also after errors."""

    def __init__(self):
        self._applied: List[Tuple[gorilla.Patch, Dict[str, Any]]] = []
        self._patched = set()

    def apply(self, destination: Any, name: str, replacement: Any) -> None:
        key = (id(destination), name)
        if key in self._patched:
            return
        own = vars(destination)
        saved = {attribute: own.get(attribute, _MISSING) for attribute in (name, f"_gorilla_created_{name}")}
        patch = gorilla.Patch(destination, name, replacement, settings=_SETTINGS)
        gorilla.apply(patch)
        self._applied.append((patch, saved))
        self._patched.add(key)

    def revert(self) -> None:
        while self._applied:
            patch, saved = self._applied.pop()
            own = vars(patch.destination)
            for attribute, value in saved.items():
                if value is _MISSING:
                    if attribute in own:
                        delattr(patch.destination, attribute)
                else:
                    setattr(patch.destination, attribute, value)
        self._patched.clear()

