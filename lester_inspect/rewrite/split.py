"""Splitting a messy pipeline script into its parts by reading its syntax tree.

The parts are those of the Lester pipeline model: data preparation, feature
encoding, label extraction and model training. No LLM is asked; the split is a
def-use analysis of the script's top-level statements:

1. Find the final model: the last ``<model>.fit(X, y)`` call (with two
   arguments, else the last ``.fit(...)``), at the top level, in the
   ``if __name__ == "__main__":`` block, or else in the module-level function
   that contains it. Later ``<model>.predict/score/...`` calls evaluate it.
2. Take backward slices over the top-level statements: the statements the
   features depend on (the ``X`` arguments of fit, predict and score), those the
   labels depend on (the ``y`` arguments, and the other values a prediction is
   compared with) and those the model object depends on. A statement defines a
   name by binding it or by mutating it (``d[k] = v``, ``rows.append(...)``); a
   plain assignment ends the search for earlier definitions.
3. Statements in both the feature and the label slice are *data preparation*,
   the rest of the feature slice is *feature encoding*, of the label slice
   *label extraction*, and the model slice plus the statements that call the
   model are *model training*. Imports are *setup*; any other statement joins
   the part of the names it uses (model > feature > label > data), or is
   *setup* before the fit and *model training* after it.

Without a fit call the whole script is one part, *pipeline*. The split only
guides the prompt and is reported to the user; validation never relies on it.
"""
from __future__ import annotations

import ast
import dataclasses
import re
from typing import Dict, FrozenSet, List, Optional, Sequence, Set, Tuple

DATA_PREPARATION = "data preparation"
FEATURE_ENCODING = "feature encoding"
LABEL_EXTRACTION = "label extraction"
MODEL_TRAINING = "model training"
SETUP = "setup"
WHOLE_PIPELINE = "pipeline"
PARTS = (DATA_PREPARATION, FEATURE_ENCODING, LABEL_EXTRACTION, MODEL_TRAINING)

# Methods that change their receiver in place: calling one (re)defines the receiver's name.
_MUTATORS = frozenset({
    "append", "extend", "insert", "update", "add", "setdefault", "pop", "popitem", "remove", "discard",
    "clear", "sort", "reverse", "fill", "resize", "put", "itemset", "__setitem__",
    "read", "readline", "readlines", "seek", "close", "write", "writelines",
})
_MODEL_CALLS = frozenset({"predict", "predict_proba", "predict_log_proba", "decision_function", "score"})
_INPUT_FILE = re.compile(r"[\w.\-/]*\.(?:csv|tsv|txt|json|jsonl|parquet|xlsx?|data)$", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class Statement:
    """One top-level statement of the script (1-based, inclusive lines) and the part it belongs to."""

    lineno: int
    end_lineno: int
    part: str


@dataclasses.dataclass(frozen=True)
class PipelineSplit:
    """The parts of a pipeline script, statement by statement."""

    source: str
    statements: Tuple[Statement, ...]
    fit_line: Optional[int]
    input_files: Tuple[str, ...]

    def lines(self, part: str) -> List[Tuple[int, int]]:
        """The line ranges of ``part``, adjacent statements merged."""
        ranges: List[Tuple[int, int]] = []
        for statement in self.statements:
            if statement.part != part:
                continue
            if ranges and self._only_blank_between(ranges[-1][1], statement.lineno):
                ranges[-1] = (ranges[-1][0], statement.end_lineno)
            else:
                ranges.append((statement.lineno, statement.end_lineno))
        return ranges

    def code(self, part: str) -> str:
        """The source text of the statements of ``part``."""
        lines = self.source.splitlines()
        return "\n\n".join("\n".join(lines[start - 1:end]) for start, end in self.lines(part))

    def describe(self) -> str:
        """``data preparation: lines 18-47; feature encoding: lines 50-80, 84; ...``."""
        parts = []
        for part in (*PARTS, WHOLE_PIPELINE):
            ranges = self.lines(part)
            if ranges:
                text = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)
                parts.append(f"{part}: line{'s' if len(ranges) > 1 or ranges[0][0] != ranges[0][1] else ''} {text}")
        return "; ".join(parts)

    def annotated(self) -> str:
        """The source with a ``# === <part> ===`` comment wherever the part changes."""
        lines = self.source.splitlines()
        markers: Dict[int, str] = {}
        previous_part, previous_end = None, 0
        for statement in self.statements:
            if statement.part != previous_part and statement.part != SETUP:
                # Put the marker above the comments that introduce the statement.
                line = previous_end + 1
                while line < statement.lineno and not lines[line - 1].strip():
                    line += 1
                markers[line] = statement.part
                previous_part = statement.part
            previous_end = statement.end_lineno
        out = []
        for number, text in enumerate(lines, start=1):
            if number in markers:
                indent = re.match(r"\s*", lines[number - 1]).group(0)
                out.append(f"{indent}# === {markers[number]} ===")
            out.append(text)
        return "\n".join(out) + "\n"

    def _only_blank_between(self, end: int, start: int) -> bool:
        lines = self.source.splitlines()
        return all(not lines[i - 1].strip() or lines[i - 1].lstrip().startswith("#") for i in range(end + 1, start))


def split_pipeline(source: str, filename: str = "<pipeline>") -> PipelineSplit:
    """Split ``source`` into its parts (see the module docstring).

    Raises
    ------
    SyntaxError
        If ``source`` is not valid Python.
    """
    tree = ast.parse(source, filename=filename)
    input_files = tuple(dict.fromkeys(
        node.value.rsplit("/", 1)[-1] for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _INPUT_FILE.fullmatch(node.value)))
    body = _statement_sequence(tree)
    fit = _final_fit(body)
    if fit is None:
        statements = tuple(Statement(s.lineno, s.end_lineno, SETUP if _is_import(s) else WHOLE_PIPELINE)
                           for s in body)
        return PipelineSplit(source, statements, None, input_files)
    parts = _assign_parts(body, *fit)
    statements = tuple(Statement(s.lineno, s.end_lineno, part) for s, part in zip(body, parts))
    return PipelineSplit(source, statements, fit[1].lineno, input_files)


# -- which statements -----------------------------------------------------------------------------

def _is_main_guard(node: ast.stmt) -> bool:
    test = getattr(node, "test", None)
    return (isinstance(node, ast.If) and isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == "__name__" and not node.orelse)


def _statement_sequence(tree: ast.Module) -> List[ast.stmt]:
    """Top-level statements, the ``__main__`` block inlined; or the body of the function that trains."""
    body: List[ast.stmt] = []
    for node in tree.body:
        body.extend(node.body if _is_main_guard(node) else [node])
    if _fit_calls(body):
        return body
    trainers = [node for node in body if isinstance(node, ast.FunctionDef) and _fit_calls(node.body)]
    return trainers[-1].body if trainers else body


def _calls(statement: ast.stmt):
    """Call nodes of ``statement`` outside nested function and class definitions."""
    todo = [statement]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Call):
            yield node
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                todo.append(child)


def _fit_calls(body: Sequence[ast.stmt]) -> List[Tuple[int, ast.Call]]:
    found = []
    for index, statement in enumerate(body):
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for call in _calls(statement):
            if isinstance(call.func, ast.Attribute) and call.func.attr == "fit" and (call.args or call.keywords):
                found.append((index, call))
    return sorted(found, key=lambda item: (item[1].lineno, item[1].col_offset))


def _final_fit(body: Sequence[ast.stmt]) -> Optional[Tuple[int, ast.Call]]:
    calls = _fit_calls(body)
    supervised = [item for item in calls if _argument(item[1], 1, "y") is not None]
    return (supervised or calls or [None])[-1]


def _argument(call: ast.Call, position: int, name: str) -> Optional[ast.expr]:
    if position < len(call.args):
        return call.args[position]
    return next((k.value for k in call.keywords if k.arg == name), None)


# -- def-use ----------------------------------------------------------------------------------------

class _Names(ast.NodeVisitor):
    """Names a statement binds, kills (plain rebinding) and reads, nested scopes included as free names."""

    def __init__(self) -> None:
        self.defines: Set[str] = set()
        self.kills: Set[str] = set()
        self.uses: Set[str] = set()

    @classmethod
    def of(cls, statement: ast.stmt) -> "_Names":
        names = cls()
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                names.kills |= _plain_targets(target)
        elif isinstance(statement, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef,
                                    ast.ClassDef)):
            names.kills |= _bound_by_definition(statement)
        names.visit(statement)
        return names

    def visit_Name(self, node: ast.Name) -> None:
        (self.uses if isinstance(node.ctx, ast.Load) else self.defines).add(node.id)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if not isinstance(node.ctx, ast.Load):
            self._mutates(node.value)
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if not isinstance(node.ctx, ast.Load):
            self._mutates(node.value)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS:
            self._mutates(node.func.value)
        self.generic_visit(node)

    def _mutates(self, node: ast.expr) -> None:
        while isinstance(node, (ast.Subscript, ast.Attribute)):
            node = node.value
        if isinstance(node, ast.Name):
            self.defines.add(node.id)
            self.uses.add(node.id)

    def visit_Import(self, node: ast.Import) -> None:
        self.defines |= _bound_by_definition(node)

    visit_ImportFrom = visit_Import

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.defines.add(node.name)
        for expression in [*node.decorator_list, *node.args.defaults, *node.args.kw_defaults]:
            if expression is not None:
                self.visit(expression)
        self.uses |= _free_names(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.defines.add(node.name)
        for expression in [*node.bases, *node.decorator_list, *(k.value for k in node.keywords)]:
            self.visit(expression)
        self.uses |= _free_names(node)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.uses |= _free_names(node)

    def _comprehension(self, node) -> None:
        self.uses |= _free_names(node)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension


def _plain_targets(target: ast.expr) -> Set[str]:
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        return set().union(*(_plain_targets(element) for element in target.elts))
    return set()


def _bound_by_definition(node: ast.stmt) -> Set[str]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return {node.name}


def _free_names(scope: ast.AST) -> FrozenSet[str]:
    """Names read in a function, class, lambda or comprehension that it does not bind itself."""
    loaded, bound = set(), set()
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        arguments = scope.args
        bound |= {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]}
        bound |= {a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None}
        children = scope.body if isinstance(scope.body, list) else [scope.body]
    else:
        children = [scope] if not isinstance(scope, ast.ClassDef) else scope.body
    for child in children:
        for node in ast.walk(child):
            if isinstance(node, ast.Name):
                (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node is not scope:
                bound.add(node.name)
            elif isinstance(node, ast.arg):
                bound.add(node.arg)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                bound |= _bound_by_definition(node)
    return frozenset(loaded - bound)


def _is_import(statement: ast.stmt) -> bool:
    return isinstance(statement, (ast.Import, ast.ImportFrom))


def _loaded_names(expression: Optional[ast.expr]) -> Set[str]:
    if expression is None:
        return set()
    return {n.id for n in ast.walk(expression) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


# -- slices and parts --------------------------------------------------------------------------------

def _assign_parts(body: List[ast.stmt], fit_index: int, fit: ast.Call) -> List[str]:
    names = [_Names.of(statement) for statement in body]
    imported = set().union(*(n.defines for s, n in zip(body, names) if _is_import(s)))

    def backward_slice(sources: List[Tuple[int, Set[str]]]) -> Set[int]:
        included: Set[int] = set()
        work = [(index, name) for index, wanted in sources for name in wanted - imported]
        seen = set()
        while work:
            index, name = work.pop()
            if (index, name) in seen:
                continue
            seen.add((index, name))
            for earlier in range(index - 1, -1, -1):
                if name not in names[earlier].defines:
                    continue
                if earlier not in included:
                    included.add(earlier)
                    work.extend((earlier, used) for used in names[earlier].uses - imported)
                if name in names[earlier].kills:
                    break
        return included

    model_names = _loaded_names(fit.func.value)
    feature_sources = [(fit_index, _loaded_names(_argument(fit, 0, "X")))]
    label_sources = [(fit_index, _loaded_names(_argument(fit, 1, "y")))]
    model_statements = {fit_index}
    for index in range(fit_index, len(body)):
        for call in _calls(body[index]):
            if (isinstance(call.func, ast.Attribute) and call.func.attr in _MODEL_CALLS
                    and _loaded_names(call.func.value) & model_names):
                model_statements.add(index)
                features = _loaded_names(_argument(call, 0, "X"))
                feature_sources.append((index, features))
                # What a prediction is compared with, or the y of score, are labels.
                label_sources.append((index, names[index].uses - features - model_names - names[index].defines
                                      if call.func.attr != "score" else _loaded_names(_argument(call, 1, "y"))))
    feature_slice = backward_slice(feature_sources)
    label_slice = backward_slice(label_sources)
    model_slice = backward_slice([(fit_index, model_names)]) | model_statements

    parts: List[Optional[str]] = []
    for index, statement in enumerate(body):
        if _is_import(statement):
            parts.append(SETUP)
        elif index in feature_slice and index in label_slice:
            parts.append(DATA_PREPARATION)
        elif index in feature_slice:
            parts.append(FEATURE_ENCODING)
        elif index in label_slice:
            parts.append(LABEL_EXTRACTION)
        elif index in model_slice:
            parts.append(MODEL_TRAINING)
        else:
            parts.append(None)
    priority = (MODEL_TRAINING, FEATURE_ENCODING, LABEL_EXTRACTION, DATA_PREPARATION)
    for index, part in enumerate(parts):
        if part is not None:
            continue
        used_parts = {parts[j] for j in range(index) if names[j].defines & names[index].uses} - {SETUP, None}
        chosen = next((p for p in priority if p in used_parts), None)
        parts[index] = chosen or (SETUP if index < fit_index else MODEL_TRAINING)
    return parts
