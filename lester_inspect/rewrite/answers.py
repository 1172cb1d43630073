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
    """The runnable candidate: the code, a ``__main__`` guard calling ``main()`` if missing, and a provenance note.

    The note goes last so that line numbers in tracebacks and static problems are
    those of the code the model wrote.
    """
    code = code.rstrip("\n") + "\n"
    if _parses(code) and main_guard(ast.parse(code)) is None and "main" in _top_level_names(code):
        code += '\n\nif __name__ == "__main__":\n    main()\n'
    return code + f"\n\n# Rewritten from {original_name} by `lester-inspect rewrite` (model: {model}).\n"


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
