"""Calling back when a library is imported, so that it is patched only if the pipeline uses it.

Importing and patching scikit-learn costs about a second; a pandas-only script should
not pay it. ``ImportWatcher`` sits first on ``sys.meta_path`` during a run: when one of
the watched top-level modules is imported, the module is executed as usual and the
callback (the backend's installation) runs right after, before the importer gets it.
"""
from __future__ import annotations

import importlib.abc
import sys
from typing import Callable, Dict


class ImportWatcher(importlib.abc.MetaPathFinder):
    def __init__(self, waiting: Dict[str, str], on_import: Callable[[str], None]):
        self.waiting = dict(waiting)  # top-level module -> what to pass to ``on_import``
        self.on_import = on_import

    def find_spec(self, fullname, path, target=None):
        if fullname not in self.waiting:
            return None
        spec = None
        for finder in sys.meta_path:
            if finder is not self and hasattr(finder, "find_spec"):
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _ThenCall(spec.loader, lambda: self.on_import(self.waiting.pop(fullname)))
        return spec


class _ThenCall(importlib.abc.Loader):
    """The module's own loader, then the callback; the module keeps its own loader as ``__loader__``."""

    def __init__(self, loader, callback: Callable[[], None]):
        self.loader = loader
        self.callback = callback

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        module.__loader__ = self.loader
        if getattr(module, "__spec__", None) is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        self.callback()
