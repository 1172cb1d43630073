"""Loading the user's pipeline source (.py, .ipynb or a string) and mapping code locations to text."""
from __future__ import annotations

import ast
import bisect
import itertools
import linecache
import os
from typing import Dict, List, Optional, Tuple

from lester_inspect.instrumentation.dag import CodeLocation

_string_counter = itertools.count(1)


class PipelineSourceError(Exception):
    """The pipeline cannot be loaded: a missing file, a syntax error, an unreadable notebook."""


class PipelineSource:
    """The text of a pipeline, its parsed AST and the filename its code objects carry."""

    def __init__(self, text: str, filename: str, path: Optional[str],
                 cells: Optional[List[Tuple[int, int]]] = None):
        self.text = text
        # A notebook's code cells: (first line in ``text``, the cell's number in the notebook).
        self.cells = cells
        self.filename = filename
        self.path = path
        self.lines = text.splitlines(keepends=True)
        try:
            self.tree = ast.parse(text, filename=filename)
        except SyntaxError as error:
            raise PipelineSourceError(
                f"{filename}, line {error.lineno}: syntax error: {error.msg}"
            ) from error
        self._assignment_of_target: Optional[Dict[Tuple[int, int], CodeLocation]] = None
        self._names: Optional[List[Tuple[CodeLocation, str]]] = None
        self._assignments_of_name: Optional[Dict[str, List[Tuple[CodeLocation, Optional[str]]]]] = None
        self._bindings: Optional[Dict[str, Tuple[int, Optional[ast.expr]]]] = None

    @classmethod
    def from_path(cls, path: str) -> "PipelineSource":
        path = os.path.abspath(path)
        if not os.path.isfile(path):
            raise PipelineSourceError(f"{path}: no such pipeline file")
        cells = None
        if path.endswith(".ipynb"):
            text, cells = _notebook_to_script(path)
        else:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        source = cls(text, path, path, cells)
        if path.endswith(".ipynb"):
            source._register_in_linecache()
        return source

    @classmethod
    def from_string(cls, code: str) -> "PipelineSource":
        source = cls(code, f"<pipeline-{next(_string_counter)}>", None)
        source._register_in_linecache()
        return source

    def _register_in_linecache(self) -> None:
        # Tracebacks of the user's exceptions then show the user's lines.
        linecache.cache[self.filename] = (len(self.text), None, self.lines, self.filename)

    def compile(self):
        """The instrumented code object (see ``ast_transform``); ``self.tree`` stays the user's."""
        import copy

        from lester_inspect.instrumentation.ast_transform import instrument

        return compile(instrument(copy.deepcopy(self.tree)), self.filename, "exec", dont_inherit=True)

    def locate(self, lineno: int, col_offset: int, end_lineno: int, end_col_offset: int,
               file: Optional[str] = None) -> CodeLocation:
        """A code location in this source; in a notebook it also names the cell and the line in it."""
        if not self.cells:
            return CodeLocation(lineno, col_offset, end_lineno, end_col_offset, file)
        first_line, cell = self.cells[max(bisect.bisect_right(self.cells, (lineno, float("inf"))) - 1, 0)]
        return CodeLocation(lineno, col_offset, end_lineno, end_col_offset, file, cell, lineno - first_line + 1)

    def node_location(self, node: ast.AST) -> CodeLocation:
        return self.locate(node.lineno, node.col_offset, node.end_lineno, node.end_col_offset)

    def segment(self, location: CodeLocation) -> str:
        """The exact source text of ``location`` (columns are UTF-8 byte offsets, as in ``ast``)."""
        first, last = location.lineno - 1, location.end_lineno - 1
        if first < 0 or last >= len(self.lines):
            return ""
        if first == last:
            line = self.lines[first].encode("utf-8")
            return line[location.col_offset:location.end_col_offset].decode("utf-8", "replace")
        parts = [self.lines[first].encode("utf-8")[location.col_offset:].decode("utf-8", "replace")]
        parts.extend(self.lines[first + 1:last])
        parts.append(self.lines[last].encode("utf-8")[:location.end_col_offset].decode("utf-8", "replace"))
        return "".join(parts)

    def enclosing_assignment(self, target: CodeLocation) -> CodeLocation:
        """The whole ``df['a'] = ...`` statement for the location of its subscript target."""
        if self._assignment_of_target is None:
            self._assignment_of_target = {}
            for node in ast.walk(self.tree):
                if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    statement = self.node_location(node)
                    for item in targets:
                        self._assignment_of_target[(item.lineno, item.col_offset)] = statement
        return self._assignment_of_target.get((target.lineno, target.col_offset), target)

    def names_in(self, location: CodeLocation) -> List[str]:
        """The variable names read inside ``location`` (a call's receiver and arguments), in order."""
        if self._names is None:
            self._names = sorted((self.node_location(node), node.id) for node in ast.walk(self.tree)
                                 if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load))
        start, end = (location.lineno, location.col_offset), (location.end_lineno, location.end_col_offset)
        return [name for where, name in self._names
                if (where.lineno, where.col_offset) >= start and (where.end_lineno, where.end_col_offset) <= end]

    def assignment_before(self, name: str, location: CodeLocation) -> Optional[Tuple[CodeLocation, Optional[str]]]:
        """The last ``name = ...`` statement ending before ``location``, and the callee it calls (if a call)."""
        if self._assignments_of_name is None:
            self._assignments_of_name = {}
            for node in ast.walk(self.tree):
                if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    callee = ast.unparse(node.value.func) if isinstance(node.value, ast.Call) else None
                    for target in targets:
                        for bound in ast.walk(target):
                            if isinstance(bound, ast.Name):
                                self._assignments_of_name.setdefault(bound.id, []).append(
                                    (self.node_location(node), callee))
        before = [(where, callee) for where, callee in self._assignments_of_name.get(name, ())
                  if (where.end_lineno, where.end_col_offset) <= (location.lineno, location.col_offset)]
        return max(before, key=lambda item: (item[0].lineno, item[0].col_offset)) if before else None


    def binding(self, name: str) -> Tuple[int, Optional[ast.expr]]:
        """How many places bind ``name`` (assignments, loop targets, parameters, imports, definitions), and
        the value of its ``name = value`` statement if that is the only one."""
        if self._bindings is None:
            counts: Dict[str, int] = {}
            values: Dict[str, ast.expr] = {}
            for node in ast.walk(self.tree):
                if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                    bound = [node.id]
                elif isinstance(node, ast.arg):
                    bound = [node.arg]
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.ExceptHandler,
                                       ast.MatchAs, ast.MatchStar)):
                    bound = [node.name] if node.name else []
                elif isinstance(node, ast.alias):
                    bound = [(node.asname or node.name).split(".")[0]]
                elif isinstance(node, (ast.Global, ast.Nonlocal)):
                    bound = node.names  # bound elsewhere too: never a single assignment
                else:
                    bound = []
                for bound_name in bound:
                    counts[bound_name] = counts.get(bound_name, 0) + 1
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    values[node.targets[0].id] = node.value
            self._bindings = {name: (count, values.get(name) if count == 1 else None) for name, count in counts.items()}
        return self._bindings.get(name, (0, None))


def _notebook_to_script(path: str) -> Tuple[str, List[Tuple[int, int]]]:
    """The code cells joined into one script, and where each cell starts in it (line, cell number)."""
    import nbformat

    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as error:  # nbformat raises several unrelated types
        raise PipelineSourceError(f"{path}: not a readable notebook: {error}") from error
    cells, starts, line = [], [], 1
    for number, cell in enumerate(notebook.cells, 1):
        if cell.cell_type != "code":
            continue
        # IPython magics and shell escapes are not Python; keep the line so line numbers stay put.
        lines = [("# " + line) if line.lstrip().startswith(("%", "!")) else line
                 for line in cell.source.splitlines()]
        cells.append("\n".join(lines))
        starts.append((line, number))
        line += len(lines) + 1  # cells are joined by a blank line
    return "\n\n".join(cells) + "\n", starts
