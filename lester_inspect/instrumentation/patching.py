"""Applying and reverting monkey patches with gorilla, leaving every patched object exactly as it was."""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

import gorilla

_SETTINGS = gorilla.Settings(allow_hit=True, store_hit=True)
_MISSING = object()


class PatchSet:
    """The patches of one run. ``revert`` undoes them in reverse order, also after errors."""

    def __init__(self):
        self._applied: List[Tuple[gorilla.Patch, Dict[str, Any]]] = []
        self._patched = set()

    def is_patched(self, destination: Any, name: str) -> bool:
        return (id(destination), name) in self._patched

    def apply(self, destination: Any, name: str, replacement: Any) -> None:
        key = (id(destination), name)
        if key in self._patched:
            return
        # gorilla reads the attribute it replaces with object.__getattribute__, which
        # binds classmethods and sklearn's available_if descriptors, and on a subclass
        # of a patched class it reads the base's bookkeeping attributes. So remember
        # the destination's own entries and let revert restore exactly those.
        own = vars(destination)
        saved = {attribute: own.get(attribute, _MISSING) for attribute in (name, *_bookkeeping(name))}
        patch = gorilla.Patch(destination, name, replacement, settings=_SETTINGS)
        gorilla.apply(patch)
        self._applied.append((patch, saved))
        self._patched.add(key)

    def revert(self) -> None:
        while self._applied:
            patch, saved = self._applied.pop()
            gorilla.revert(patch)
            own = vars(patch.destination)
            for attribute, value in saved.items():
                if value is _MISSING:
                    if attribute in own:
                        delattr(patch.destination, attribute)
                else:
                    setattr(patch.destination, attribute, value)
        self._patched.clear()


def _bookkeeping(name: str) -> Tuple[str, ...]:
    return (f"_gorilla_ids_{name}", f"_gorilla_created_{name}")
