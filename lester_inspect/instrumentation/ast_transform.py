"""The AST rewrite of the user's pipeline: the one place where lester-inspect edits user code.

Library functions are patched at run time; what cannot be patched are the methods
of numpy's C types. ``label_binarize(...).ravel()`` would lose track of the labels,
so calls of the row-preserving array methods below become
``__lester_array_method__(receiver, 'ravel', ...)``, which makes the same call and
hands the receiver's node on to the result. Nothing else changes: every other node
keeps its position, so code locations stay exact.
"""
from __future__ import annotations

import ast

ARRAY_METHOD_HOOK = "__lester_array_method__"
ROW_PRESERVING_ARRAY_METHODS = frozenset({"ravel", "reshape", "flatten", "squeeze", "toarray", "todense"})


class _ArrayMethodCalls(ast.NodeTransformer):
    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        function = node.func
        if not (isinstance(function, ast.Attribute) and function.attr in ROW_PRESERVING_ARRAY_METHODS):
            return node
        hook = ast.copy_location(ast.Name(id=ARRAY_METHOD_HOOK, ctx=ast.Load()), function)
        name = ast.copy_location(ast.Constant(value=function.attr), function)
        return ast.copy_location(ast.Call(func=hook, args=[function.value, name, *node.args],
                                          keywords=node.keywords), node)


def instrument(tree: ast.Module) -> ast.Module:
    """The tree to compile: ``tree`` with array method calls routed through the hook."""
    return ast.fix_missing_locations(_ArrayMethodCalls().visit(tree))
