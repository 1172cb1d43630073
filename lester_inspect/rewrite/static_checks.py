"""Static validation of a candidate script: it parses, has the required shape, loops over no rows, imports what exists.

The shape: top-level functions ``prepare_data(<paths>)`` (reading with a
pandas ``read_*`` function, not ``open()``), ``encode_features()`` (callable
without arguments) and ``extract_label(df)``, and an
``if __name__ == "__main__":`` block; no other top-level statement may call
them or ``fit``, so that importing the script runs nothing.

Row loops are looked for in module-level code and module-level functions
(custom transformer classes may loop: scikit-learn calls them row-agnostically
and the instrumentation treats them as opaque). A loop counts as a row loop if
it calls ``iterrows``/``itertuples``, applies a function with ``axis=1``, or
iterates (``for`` or a comprehension) over an expression that involves a
DataFrame variable other than through ``.columns``/``.dtypes``. A variable
holds a DataFrame if it is ``extract_label``'s parameter, a parameter named ``df``,
``data``, ``frame`` or ``dataframe``, or is assigned from a
``pd.*`` call, ``prepare_data``, ``train_test_split``, or an expression on
another DataFrame variable.

Imports must resolve: standard library, installed packages, or modules next
to the script.
"""
from __future__ import annotations

import ast
import dataclasses
import importlib.machinery
import importlib.util
import sys
from typing import Dict, Iterable, List, Optional, Set

from lester_inspect.rewrite.answers import REQUIRED_FUNCTIONS, main_guard

_FRAME_SOURCES = {"prepare_data", "train_test_split", "read_csv"}
_NOT_ROWS = {"columns", "dtypes", "shape", "keys"}


@dataclasses.dataclass(frozen=True)
class Problem:
    """One reason the candidate is rejected, with the line it concerns (if any)."""

    line: Optional[int]
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


def check_static(code: str, filename: str = "<candidate>", script_dir: Optional[str] = None) -> List[Problem]:
    """All static problems of ``code``; an empty list means it passes.

    Parameters
    ----------
    code : str
        The candidate script.
    filename : str
        Name used in syntax error messages.
    script_dir : str, optional
        The folder the script will run from; modules in it count as importable.
    """
    try:
        tree = ast.parse(code, filename=filename)
    except SyntaxError as error:
        return [_syntax_problem(error, code)]
    functions = {node.name: node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    problems = _shape_problems(tree, functions)
    problems += _row_loop_problems(tree, code)
    problems += _import_problems(tree, script_dir)
    return sorted(problems, key=lambda p: (p.line or 0))


def _syntax_problem(error: SyntaxError, code: str) -> Problem:
    # The line comes from ``code``: for some errors Python reads ``error.text`` from the file
    # named ``filename``, which is not this code (a candidate runs under its future path).
    message = f"syntax error: {error.msg}"
    lines = code.splitlines()
    if error.lineno and 0 < error.lineno <= len(lines):
        caret = " " * max((error.offset or 1) - 1, 0) + "^"
        message += f"\n    {lines[error.lineno - 1].rstrip()}\n    {caret}"
    return Problem(error.lineno, message)


# -- shape -------------------------------------------------------------------------------------------

def _positional(function: ast.FunctionDef) -> List[ast.arg]:
    return [*function.args.posonlyargs, *function.args.args]


def _shape_problems(tree: ast.Module, functions: Dict[str, ast.FunctionDef]) -> List[Problem]:
    problems = []
    for name in REQUIRED_FUNCTIONS:
        if name not in functions:
            problems.append(Problem(None, f"the script defines no top-level function `{name}`"))
    encode = functions.get("encode_features")
    if encode is not None and len(_positional(encode)) > len(encode.args.defaults):
        problems.append(Problem(encode.lineno, "`encode_features()` must be callable without arguments"))
    label = functions.get("extract_label")
    if label is not None and not _positional(label) and label.args.vararg is None:
        problems.append(Problem(label.lineno, "`extract_label(df)` must take the DataFrame as its argument"))
    prepare = functions.get("prepare_data")
    if prepare is not None:
        called = {_called_name(call) for call in ast.walk(prepare) if isinstance(call, ast.Call)}
        if not _positional(prepare):
            problems.append(Problem(prepare.lineno,
                                    "`prepare_data` must take the paths of the input files as parameters"))
        if not any(name and name.startswith("read_") for name in called):
            problems.append(Problem(prepare.lineno, "`prepare_data` must read its inputs with `pd.read_csv`"))
        if "open" in called:
            problems.append(Problem(prepare.lineno, "`prepare_data` must not parse files by hand with `open()`"))
    guard = main_guard(tree)
    if guard is None:
        problems.append(Problem(None, 'the script has no `if __name__ == "__main__":` block that runs the pipeline'))
    for node in tree.body:
        if node is guard or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import,
                                              ast.ImportFrom)):
            continue
        runs = [c for c in ast.walk(node) if isinstance(c, ast.Call)
                and (_called_name(c) in REQUIRED_FUNCTIONS or _called_name(c) == "fit")]
        if runs:
            problems.append(Problem(node.lineno, "runs the pipeline when the script is imported; move it into "
                                                 'the `if __name__ == "__main__":` block'))
    return problems


def _called_name(call: ast.Call) -> Optional[str]:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


# -- row loops ---------------------------------------------------------------------------------------

def _pandas_aliases(tree: ast.Module) -> Set[str]:
    aliases = {"pd"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases |= {alias.asname or alias.name for alias in node.names if alias.name == "pandas"}
    return aliases


def _scopes(tree: ast.Module) -> Iterable[tuple]:
    """(statements, initial DataFrame variables) of module-level code and each module-level function."""
    module_code = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            parameters = {a.arg for a in _positional(node)}
            frames = set(list(parameters)[:1]) if node.name == "extract_label" else set()
            frames |= parameters & {"df", "data", "frame", "dataframe"}
            yield node.body, frames
        elif not isinstance(node, ast.ClassDef):
            module_code.append(node)
    yield module_code, set()


def _statements(body: List[ast.stmt]) -> Iterable[ast.AST]:
    """Nodes of ``body`` in source order, without entering nested functions and classes."""
    for statement in body:
        todo = [statement]
        while todo:
            node = todo.pop(0)
            yield node
            todo[:0] = [child for child in ast.iter_child_nodes(node)
                        if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]


def _root_name(node: ast.AST) -> Optional[str]:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _is_frame_expression(node: ast.expr, frames: Set[str], pandas: Set[str]) -> bool:
    if isinstance(node, ast.Call):
        if _called_name(node) in _FRAME_SOURCES:
            return True
        if isinstance(node.func, ast.Attribute) and _root_name(node.func) in pandas:
            return True
    if isinstance(node, (ast.Call, ast.Attribute, ast.Subscript)):
        return _root_name(node) in frames
    return isinstance(node, ast.Name) and node.id in frames


def _involves_rows(iterable: ast.expr, frames: Set[str]) -> bool:
    parents = {child: parent for parent in ast.walk(iterable) for child in ast.iter_child_nodes(parent)}
    for node in ast.walk(iterable):
        if isinstance(node, ast.Name) and node.id in frames:
            parent = parents.get(node)
            if not (isinstance(parent, ast.Attribute) and parent.attr in _NOT_ROWS):
                return True
    return False


def _row_loop_problems(tree: ast.Module, code: str) -> List[Problem]:
    pandas = _pandas_aliases(tree)
    problems = []
    for body, frames in _scopes(tree):
        frames = set(frames)
        for node in _statements(body):
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                if _is_frame_expression(node.value, frames, pandas):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    frames |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
            elif isinstance(node, ast.Call) and _called_name(node) in ("iterrows", "itertuples"):
                problems.append(_row_loop(node, code, "iterates over the rows of a DataFrame"))
            elif isinstance(node, ast.Call) and _called_name(node) == "apply" and any(
                    k.arg == "axis" and isinstance(k.value, ast.Constant) and k.value.value in (1, "columns")
                    for k in node.keywords):
                problems.append(_row_loop(node, code, "calls a Python function per row"))
            elif isinstance(node, (ast.For, ast.AsyncFor)) and _involves_rows(node.iter, frames):
                problems.append(_row_loop(node, code, "loops over the rows of a DataFrame"))
            elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)) and any(
                    _involves_rows(generator.iter, frames) for generator in node.generators):
                problems.append(_row_loop(node, code, "loops over the rows of a DataFrame"))
    # A `for` over `df.iterrows()` is one problem, not two.
    unique = {}
    for problem in problems:
        unique.setdefault(problem.line, problem)
    return list(unique.values())


def _row_loop(node: ast.AST, code: str, what: str) -> Problem:
    snippet = (ast.get_source_segment(code, node) or "").splitlines()[0]
    snippet = snippet if len(snippet) <= 80 else snippet[:77] + "..."
    return Problem(node.lineno, f"`{snippet}` {what}; use vectorised pandas operations instead "
                                f"(selections, merge, one assignment per new column)")


# -- imports -----------------------------------------------------------------------------------------

def _import_problems(tree: ast.Module, script_dir: Optional[str]) -> List[Problem]:
    problems, reported = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        for module in modules:
            top = module.split(".")[0]
            if top in reported or _importable(top, script_dir):
                continue
            reported.add(top)
            problems.append(Problem(node.lineno, f"module `{top}` cannot be imported (it is not installed); "
                                                 "use pandas, numpy and scikit-learn"))
    return problems


def _importable(module: str, script_dir: Optional[str]) -> bool:
    if module in sys.stdlib_module_names or module in sys.modules:
        return True
    if script_dir is not None and importlib.machinery.PathFinder.find_spec(module, [script_dir]) is not None:
        return True
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
