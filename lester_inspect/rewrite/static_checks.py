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

Generated code must not reach outside the pipeline: importing a module that
runs processes, opens connections or calls C (``subprocess``, ``socket``,
``ctypes``, ``multiprocessing``, ``urllib``, ``http``, ``requests``, ``ftplib``,
``smtplib``, ...); the environment (``os.environ``, ``os.getenv``,
``os.putenv``); ``os`` functions that start or signal processes
(``os.system``, ``os.fork``, ``os.exec*``, ``os.spawn*``, ``os.kill``...); and
``eval``, ``exec``, ``compile`` and ``__import__`` (code from strings). Each
is reported with its line and the construct. The sandbox's audit hook catches
what gets past this (see :mod:`~lester_inspect.rewrite.guard`).
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
_FORBIDDEN_MODULES = {
    "subprocess": "starts processes", "multiprocessing": "starts processes", "pty": "starts processes",
    "socket": "opens network connections", "socketserver": "opens network connections",
    "ssl": "opens network connections", "asyncio": "opens network connections and processes",
    "urllib": "uses the network", "urllib3": "uses the network", "http": "uses the network",
    "requests": "uses the network", "httpx": "uses the network", "aiohttp": "uses the network",
    "ftplib": "uses the network", "smtplib": "uses the network", "poplib": "uses the network",
    "imaplib": "uses the network", "nntplib": "uses the network", "telnetlib": "uses the network",
    "xmlrpc": "uses the network", "webbrowser": "starts programs", "ctypes": "calls C code directly",
    "cffi": "calls C code directly", "importlib": "imports modules by name",
}
_FORBIDDEN_OS = {
    "environ": "reads the environment", "environb": "reads the environment", "getenv": "reads the environment",
    "getenvb": "reads the environment", "putenv": "changes the environment", "unsetenv": "changes the environment",
    "system": "runs a shell command", "popen": "runs a shell command", "fork": "starts a process",
    "forkpty": "starts a process", "kill": "signals a process", "killpg": "signals processes",
    "setsid": "leaves its process group", "posix_spawn": "starts a process", "posix_spawnp": "starts a process",
}
_FORBIDDEN_OS_PREFIXES = ("exec", "spawn")
_FORBIDDEN_BUILTINS = {"eval": "evaluates code from a string", "exec": "executes code from a string",
                       "compile": "compiles code from a string", "__import__": "imports modules by name"}
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
    problems += _forbidden_problems(tree, code)
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


# -- reaching outside the pipeline -------------------------------------------------------------------

def _forbidden_problems(tree: ast.Module, code: str) -> List[Problem]:
    problems = []
    os_names = {"os"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            os_names |= {alias.asname or alias.name for alias in node.names if alias.name == "os"}
    for node in ast.walk(tree):
        what, construct = None, None
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                top = module.split(".")[0]
                if top in _FORBIDDEN_MODULES and not (isinstance(node, ast.ImportFrom) and node.level):
                    what, construct = _FORBIDDEN_MODULES[top], f"import {module}"
            if isinstance(node, ast.ImportFrom) and node.module == "os":
                named = [a.name for a in node.names if _forbidden_os(a.name)]
                if named:
                    what, construct = _forbidden_os(named[0]), f"from os import {named[0]}"
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in os_names:
            what = _forbidden_os(node.attr)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FORBIDDEN_BUILTINS:
            what = _FORBIDDEN_BUILTINS[node.func.id]
        if what is not None:
            problems.append(Problem(node.lineno, f"`{construct or _snippet(code, node)}` {what}; generated code must only read "
                                                 "its input files and train the model"))
    return problems


def _forbidden_os(name: str) -> Optional[str]:
    if name in _FORBIDDEN_OS:
        return _FORBIDDEN_OS[name]
    if name.startswith(_FORBIDDEN_OS_PREFIXES):
        return "starts a process"
    return None


def _snippet(code: str, node: ast.AST) -> str:
    snippet = ((ast.get_source_segment(code, node) or "").splitlines() or [""])[0]
    return snippet if len(snippet) <= 80 else snippet[:77] + "..."


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
    return Problem(node.lineno, f"`{_snippet(code, node)}` {what}; use vectorised pandas operations instead "
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
