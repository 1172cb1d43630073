"""From an LLM answer to a candidate pipeline script: code blocks out of prose, then assembly.

Extraction rule: the fenced code blocks labelled ``python``/``py`` or not
labelled at all are the code; blocks in other languages (``bash``, ``text``)
are ignored. If one block defines all required functions, the last such block
is the script (models often restate the whole script after partial snippets);
otherwise the blocks are concatenated in order (an answer that gives one
block per part). An answer without fences counts as code only if it parses
and defines a function (a lone word of prose parses too).
"""
from __future__ import annotations

import ast
import re
from typing import List, Optional

REQUIRED_FUNCTIONS = ("prepare_data", "encode_features", "extract_label")

_OPENING = re.compile(r"^[ \t]*```[ \t]*([\w+.-]*)[^\n]*$", re.MULTILINE)
_CLOSING = re.compile(r"^[ \t]*```[ \t]*$", re.MULTILINE)
_PYTHON_LABELS = {"", "python", "py", "python3"}


class NoCodeError(ValueError):
    """The answer contains no Python code."""


def code_blocks(answer: str) -> List[str]:
    """The Python code blocks of ``answer``, in order; an unclosed last block runs to the end."""
    blocks, position = [], 0
    while True:
        opening = _OPENING.search(answer, position)
        if opening is None:
            return blocks
        closing = _CLOSING.search(answer, opening.end())
        end = closing.start() if closing is not None else len(answer)
        if opening.group(1).lower() in _PYTHON_LABELS:
            blocks.append(answer[opening.end():end].strip("\n"))
        if closing is None:
            return blocks
        position = closing.end()


def extract_code(answer: str) -> str:
    """The candidate script in ``answer`` (see the module docstring for the rule).

    Raises
    ------
    NoCodeError
        If there is no code block and the answer is not Python either.
    """
    blocks = [block for block in code_blocks(answer) if block.strip()]
    if not blocks:
        if _parses(answer) and _top_level_names(answer):
            return answer.strip("\n") + "\n"
        raise NoCodeError("the answer contains no ```python code block")
    complete = [block for block in blocks if set(REQUIRED_FUNCTIONS) <= _top_level_names(block)]
    if complete:
        return complete[-1] + "\n"
    return "\n\n\n".join(blocks) + "\n"


def assemble(code: str, original_name: str, model: str) -> str:
    """The runnable candidate: the code, a ``__main__`` guard if missing, and a provenance note.

    Without a guard, the script gets one: calling ``main()`` if it defines
    ``main``, else holding the top-level statements that run the pipeline (see
    :func:`guard_top_level_run`). The note goes last so that line numbers in
    tracebacks and static problems are those of the code the model wrote.
    """
    code = code.rstrip("\n") + "\n"
    if _parses(code) and main_guard(ast.parse(code)) is None:
        if "main" in _top_level_names(code):
            code += '\n\nif __name__ == "__main__":\n    main()\n'
        else:
            code = guard_top_level_run(code)
    return code + f"\n\n# Rewritten from {original_name} by `lester-inspect rewrite` (model: {model}).\n"


def guard_top_level_run(code: str) -> str:
    """Move the top-level statements that run the pipeline into an ``if __name__ == "__main__":`` block.

    They are the statements from the first one that calls a required function
    or ``fit`` on, except definitions and imports, which stay where they are, in
    order (so that importing the script defines everything and runs nothing).
    Statements before it (constants, settings) stay too. The code is returned
    unchanged if nothing calls the pipeline, or if a moved statement spans a
    multi-line string (indenting it would change the string).
    """
    tree = ast.parse(code)
    lines = code.splitlines()
    first = next((index for index, node in enumerate(tree.body) if _runs_pipeline(node)), None)
    if first is None:
        return code
    moved = [node for node in tree.body[first:]
             if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom))]
    if any(isinstance(n, (ast.Constant, ast.JoinedStr)) and n.lineno != n.end_lineno
           for node in moved for n in ast.walk(node)):
        return code
    taken = {line for node in moved for line in range(_first_line(node), node.end_lineno + 1)}
    kept = [text for number, text in enumerate(lines, start=1) if number not in taken]
    body = ["    " + text if text.strip() else "" for number, text in enumerate(lines, start=1) if number in taken]
    return "\n".join(kept).rstrip("\n") + '\n\n\nif __name__ == "__main__":\n' + "\n".join(body) + "\n"


def _runs_pipeline(node: ast.stmt) -> bool:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)):
        return False
    for call in ast.walk(node):
        if isinstance(call, ast.Call):
            name = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", None)
            if name in REQUIRED_FUNCTIONS or name == "fit":
                return True
    return False


def _first_line(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except SyntaxError:
        return False
    return True


def _top_level_names(code: str) -> set:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        # A broken block can still be the complete script; recognise its definitions by text.
        return set(re.findall(r"^def\s+(\w+)", code, re.MULTILINE))
    return {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def main_guard(tree: ast.Module) -> Optional[ast.If]:
    """The module's ``if __name__ == "__main__":`` statement, if any."""
    for node in tree.body:
        test = getattr(node, "test", None)
        if (isinstance(node, ast.If) and isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
                and test.left.id == "__name__" and len(test.comparators) == 1
                and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value == "__main__"):
            return node
    return None
