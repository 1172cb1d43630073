"""Deciding whether a call comes from user code, and where in that code it is.

This runs on every call of a patched function, most of them made by pandas and
scikit-learn internally, so the common "not user code" answer is one dict lookup
keyed by the caller's code object.
"""
from __future__ import annotations

import linecache
import os
import sys
import sysconfig
from typing import Dict, List, Optional

from lester_inspect.instrumentation.dag import CodeLocation
from lester_inspect.instrumentation.source import PipelineSource

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_LIBRARY_DIRS = tuple({os.path.realpath(p) for p in (sysconfig.get_paths()["purelib"],
                                                      sysconfig.get_paths()["platlib"],
                                                      sysconfig.get_paths()["stdlib"])})
_HAS_POSITIONS = sys.version_info >= (3, 11)


class CallSites:
    """User-code test and code locations for one run.

    User code is the pipeline itself plus Python files under the pipeline's folder
    (its local helper modules), never installed libraries nor lester_inspect.
    """

    def __init__(self, source: PipelineSource):
        self.source = source
        self._user_root = os.path.dirname(source.path) + os.sep if source.path else None
        self._is_user_file: Dict[str, bool] = {source.filename: True}
        self._positions: Dict[object, List] = {}
        # (id(code), instruction offset) -> (code, location): a loop calls the same place thousands of
        # times. Keyed by id: a code object hashes its whole body (~2 us for a pipeline module), every time.
        self._locations: Dict[tuple, tuple] = {}
        self._helper_sources: Dict[str, Optional[PipelineSource]] = {}
        self._snippets: Dict[CodeLocation, str] = {}

    def is_user_code(self, code) -> bool:
        filename = code.co_filename
        known = self._is_user_file.get(filename)
        if known is None:
            known = self._is_user_file[filename] = self._classify(filename)
        return known

    def _classify(self, filename: str) -> bool:
        if self._user_root is None or not filename.endswith(".py"):
            return False
        real = os.path.realpath(filename)
        return (real.startswith(self._user_root)
                and not real.startswith(_PACKAGE_DIR + os.sep)
                and not real.startswith(_LIBRARY_DIRS)
                and os.sep + "site-packages" + os.sep not in real)

    def location(self, frame) -> CodeLocation:
        """The span of the instruction ``frame`` is executing: the call or subscript itself."""
        code = frame.f_code
        key = (id(code), frame.f_lasti)
        found = self._locations.get(key)
        if found is None or found[0] is not code:  # the code kept alive with its entry: the id stays its own
            found = self._locations[key] = (code, self._location(frame))
        return found[1]

    def _location(self, frame) -> CodeLocation:
        code = frame.f_code
        file = None if code.co_filename == self.source.filename else code.co_filename
        if _HAS_POSITIONS:
            positions = self._positions.get(code)
            if positions is None:
                positions = self._positions[code] = list(code.co_positions())
            lineno, end_lineno, col, end_col = positions[frame.f_lasti // 2]
            if lineno is not None and col is not None:
                return self.source.locate(lineno, col, end_lineno, end_col) if file is None else CodeLocation(
                    lineno, col, end_lineno, end_col, file)
        # Python 3.10 (or an instruction without a position): the whole line.
        line = linecache.getline(code.co_filename, frame.f_lineno)
        indent = len(line) - len(line.lstrip())
        if file is None:
            return self.source.locate(frame.f_lineno, indent, frame.f_lineno, len(line.rstrip().encode("utf-8")))
        return CodeLocation(frame.f_lineno, indent, frame.f_lineno, len(line.rstrip().encode("utf-8")), file)

    def source_for(self, location: CodeLocation) -> Optional[PipelineSource]:
        if location.file is None:
            return self.source
        if location.file not in self._helper_sources:
            try:
                self._helper_sources[location.file] = PipelineSource.from_path(location.file)
            except Exception:  # a helper we cannot re-read only loses its snippets
                self._helper_sources[location.file] = None
        return self._helper_sources[location.file]

    def snippet(self, location: Optional[CodeLocation]) -> str:
        if location is None:
            return ""
        text = self._snippets.get(location)
        if text is None:  # a loop calls the same place thousands of times
            source = self.source_for(location)
            text = self._snippets[location] = source.segment(location) if source else ""
        return text

