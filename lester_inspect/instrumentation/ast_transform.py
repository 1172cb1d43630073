"""The AST rewrite of the user's pipeline: the one place where lester-inspect edits user code.

Library functions are patched at run time; what cannot be patched are the methods
and operators of numpy's C types. Two rewrites route them through hooks that the
run puts into the module's namespace:

* ``label_binarize(...).ravel()`` would lose track of the labels, so calls of the
  row-preserving array methods below become ``__lester_array_method__(receiver,
  'ravel', ...)``, which makes the same call and hands the receiver's node on.
* Calls of an attribute named in ``CALL_HOOK_NAMES`` (``np.log(x)``, ``rng.normal(...)``,
  ``X.astype(int)``, ``model.fit(X, y)``) become ``__lester_call__(site, receiver, ...)``,
  and arithmetic, comparisons and subscripts (``X / 255``, ``y > 0``, ``-X``, ``X[:, 0]``)
  become ``__lester_operator__(site, X, 255)``; stores (``X[m] = 0``, ``X[:, 0] *= 2``,
  ``df.loc[m, "a"] += 1``) go through store hooks that record the changed object. The hooks
  only look at operands and result: the call, operation or store itself runs in a lambda
  per site (``__lester_sites__``) that is
  compiled with the user's file name and the original position, so patched library
  methods, warnings and code locations see the user's code exactly as before.

Nothing else changes: every other node keeps its position, so code locations stay exact.
"""
from __future__ import annotations

import ast
from typing import List

ARRAY_METHOD_HOOK = "__lester_array_method__"
ROW_PRESERVING_ARRAY_METHODS = frozenset({"ravel", "reshape", "flatten", "squeeze", "toarray", "todense"})

# -- numpy ufuncs and random draws, array conversions, estimator methods (backends/numpy_backend.py) --
CALL_HOOK = "__lester_call__"
OPERATOR_HOOK = "__lester_operator__"
# A tuple of (function, name, lineno, col_offset, end_lineno, end_col_offset) per rewritten site.
SITES = "__lester_sites__"
# ``slice``, under a name user code cannot shadow: ``X[a:b]`` hands the hook ``X`` and ``slice(a, b, None)``.
SLICE = "__lester_slice__"
# ``X[key] = value`` becomes ``__lester_store__(site, value, X, key)`` (Python's order of evaluation);
# the site's lambda stores with ``__lester_setitem__`` (``operator.setitem``, as the statement does).
STORE_HOOK = "__lester_store__"
SETITEM = "__lester_setitem__"
# ``X[key] += value`` becomes ``__lester_augmented_store__(site, *__lester_augmented_load__(site, X, key), value)``:
# Python's order (X, key, the load, value, the in-place operation, the store), with ``operator.iadd`` & co.
# (from ``__lester_inplace__``, the ``operator`` module) doing what ``+=`` does.
AUGMENTED_LOAD_HOOK = "__lester_augmented_load__"
AUGMENTED_STORE_HOOK = "__lester_augmented_store__"
INPLACE = "__lester_inplace__"
_INPLACE_FUNCTIONS = {ast.Add: ("iadd", "+="), ast.Sub: ("isub", "-="), ast.Mult: ("imul", "*="),
                      ast.Div: ("itruediv", "/="), ast.FloorDiv: ("ifloordiv", "//="), ast.Mod: ("imod", "%="),
                      ast.Pow: ("ipow", "**="), ast.MatMult: ("imatmul", "@="), ast.BitAnd: ("iand", "&="),
                      ast.BitOr: ("ior", "|="), ast.BitXor: ("ixor", "^="), ast.LShift: ("ilshift", "<<="),
                      ast.RShift: ("irshift", ">>=")}
_UFUNC_NAMES = frozenset({
    "log", "log1p", "log2", "log10", "exp", "expm1", "exp2", "sqrt", "cbrt", "square", "abs", "absolute", "fabs",
    "sign", "negative", "reciprocal", "floor", "ceil", "rint", "trunc", "sin", "cos", "tan", "arcsin", "arccos",
    "arctan", "sinh", "cosh", "tanh", "arctanh", "isnan", "isinf", "isfinite", "logical_not", "add", "subtract",
    "multiply", "divide", "true_divide", "floor_divide", "power", "mod", "maximum", "minimum", "fmax", "fmin",
    "logical_and", "logical_or", "greater", "less", "equal", "not_equal", "greater_equal", "less_equal", "arctan2",
    "hypot"})
_RANDOM_NAMES = frozenset({
    "normal", "uniform", "integers", "random", "choice", "standard_normal", "binomial", "poisson", "exponential",
    "lognormal", "gamma", "beta", "multivariate_normal", "randint", "rand", "randn", "random_sample", "laplace",
    "logistic", "geometric", "chisquare", "standard_t", "triangular", "weibull", "shuffle", "permutation"})
_CONVERSION_NAMES = frozenset({"astype", "copy"})
_SPARSE_NAMES = frozenset({"csr_matrix", "csc_matrix", "coo_matrix", "csr_array", "csc_array", "coo_array"})
_ESTIMATOR_NAMES = frozenset({"fit", "predict", "predict_proba", "fit_predict", "fit_transform", "transform",
                              "score", "decision_function", "add_constant"})
CALL_HOOK_NAMES = _UFUNC_NAMES | _RANDOM_NAMES | _CONVERSION_NAMES | _SPARSE_NAMES | _ESTIMATOR_NAMES

_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.MatMult,
              ast.BitAnd, ast.BitOr, ast.BitXor)
_COMPARISONS = (ast.Gt, ast.GtE, ast.Lt, ast.LtE, ast.Eq, ast.NotEq)
_UNARY = (ast.USub, ast.Invert)


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


def _is_literal(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) or (isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant))


class _NumpyOperations(ast.NodeTransformer):
    """Hooked calls through ``__lester_call__``; operators through ``__lester_operator__``."""

    def __init__(self):
        self.sites: List[ast.Tuple] = []

    # Annotations are not evaluated as data (and are strings under ``from __future__ import annotations``).
    def visit_arg(self, node: ast.arg) -> ast.AST:
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        if node.value is not None:
            node.value = self.visit(node.value)
        return node

    def visit_FunctionDef(self, node):
        node.returns, returns = None, node.returns
        self.generic_visit(node)
        node.returns = returns
        return node

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        function = node.func
        if not (isinstance(function, ast.Attribute) and function.attr in CALL_HOOK_NAMES):
            return node
        # lambda receiver, /, *args, **kwargs: receiver.name(*args, **kwargs)
        receiver = ast.copy_location(ast.Name(id="receiver", ctx=ast.Load()), function.value)
        method = ast.copy_location(ast.Attribute(value=receiver, attr=function.attr, ctx=ast.Load()), function)
        args = ast.copy_location(ast.Starred(value=ast.copy_location(ast.Name(id="args", ctx=ast.Load()), node),
                                             ctx=ast.Load()), node)
        kwargs = ast.keyword(arg=None, value=ast.copy_location(ast.Name(id="kwargs", ctx=ast.Load()), node))
        body = ast.copy_location(ast.Call(func=method, args=[args], keywords=[ast.copy_location(kwargs, node)]), node)
        parameters = ast.arguments(posonlyargs=[ast.arg(arg="receiver")], args=[], vararg=ast.arg(arg="args"),
                                   kwonlyargs=[], kw_defaults=[], kwarg=ast.arg(arg="kwargs"), defaults=[])
        return self._site(node, function.attr, parameters, body, CALL_HOOK, [function.value, *node.args],
                          node.keywords)

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if not isinstance(node.op, _OPERATORS) or (_is_literal(node.left) and _is_literal(node.right)):
            return node
        left, right = self._names(node, "left", "right")
        return self._operator(node, type(node.op).__name__, ["left", "right"],
                              ast.BinOp(left=left, op=node.op, right=right), [node.left, node.right])

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if len(node.ops) != 1 or not isinstance(node.ops[0], _COMPARISONS) or (
                _is_literal(node.left) and _is_literal(node.comparators[0])):
            return node
        left, right = self._names(node, "left", "right")
        return self._operator(node, type(node.ops[0]).__name__, ["left", "right"],
                              ast.Compare(left=left, ops=node.ops, comparators=[right]),
                              [node.left, node.comparators[0]])

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if not isinstance(node.op, _UNARY) or _is_literal(node):
            return node
        operand, = self._names(node, "operand")
        return self._operator(node, type(node.op).__name__, ["operand"], ast.UnaryOp(op=node.op, operand=operand),
                              [node.operand])

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        self.generic_visit(node)
        if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Subscript):
            return node
        target = node.targets[0]
        value, obj, key = self._names(node, "value", "target", "key")
        store = ast.Call(func=ast.copy_location(ast.Name(id=SETITEM, ctx=ast.Load()), node), args=[obj, key, value],
                         keywords=[])
        parameters = _parameters("value", "target", "key")
        # The store carries the target's position, as Python's own store instruction does (``df['a'] = ...``
        # is located at ``df['a']``, which the pandas backend relies on).
        call = self._site(target, "Store", parameters, ast.copy_location(store, target), STORE_HOOK,
                          [node.value, target.value, _key(target.slice)], [])
        return ast.copy_location(ast.Expr(value=call), node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        target = node.target
        if not isinstance(target, ast.Subscript):
            return node
        function, symbol = _INPLACE_FUNCTIONS[type(node.op)]
        target_name, key_name, current, value = self._names(node, "target", "key", "current", "value")
        load = self._site(target, "Subscript", _parameters("target", "key"),
                          ast.copy_location(ast.Subscript(value=target_name, slice=key_name, ctx=ast.Load()), target),
                          AUGMENTED_LOAD_HOOK, [target.value, _key(target.slice)], [])
        inplace = ast.Attribute(value=ast.Name(id=INPLACE, ctx=ast.Load()), attr=function, ctx=ast.Load())
        operation = ast.Call(func=inplace, args=[current, value], keywords=[])
        store = ast.Call(func=ast.Name(id=SETITEM, ctx=ast.Load()), args=[*self._names(node, "target", "key"),
                                                                            operation], keywords=[])
        for part in ast.walk(store):
            ast.copy_location(part, target)
        call = self._site(target, symbol, _parameters("target", "key", "current", "value"), store,
                          AUGMENTED_STORE_HOOK, [ast.copy_location(ast.Starred(value=load, ctx=ast.Load()), target),
                                                 node.value], [])
        return ast.copy_location(ast.Expr(value=call), node)

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        self.generic_visit(node)
        if not isinstance(node.ctx, ast.Load):
            return node
        value, key = self._names(node, "value", "key")
        return self._operator(node, "Subscript", ["value", "key"],
                              ast.Subscript(value=value, slice=key, ctx=ast.Load()), [node.value, _key(node.slice)])

    @staticmethod
    def _names(node: ast.AST, *names: str) -> List[ast.Name]:
        return [ast.copy_location(ast.Name(id=name, ctx=ast.Load()), node) for name in names]

    def _operator(self, node: ast.expr, name: str, names: List[str], body: ast.expr, operands: List[ast.expr]):
        return self._site(node, name, _parameters(*names), ast.copy_location(body, node), OPERATOR_HOOK, operands, [])

    def _site(self, node: ast.expr, name: str, parameters: ast.arguments, body: ast.expr, hook_name: str,
              args: List[ast.expr], keywords: List[ast.keyword]) -> ast.Call:
        """Record a site (its lambda carries ``node``'s position) and call ``hook_name`` with its number."""
        function = ast.copy_location(ast.Lambda(args=parameters, body=body), node)
        position = [node.lineno, node.col_offset, node.end_lineno, node.end_col_offset]
        self.sites.append(ast.copy_location(ast.Tuple(elts=[function, *(ast.copy_location(ast.Constant(value=v), node)
                                                                        for v in [name, *position])],
                                                      ctx=ast.Load()), node))
        hook = ast.copy_location(ast.Name(id=hook_name, ctx=ast.Load()), node)
        site = ast.copy_location(ast.Constant(value=len(self.sites) - 1), node)
        return ast.copy_location(ast.Call(func=hook, args=[site, *args], keywords=keywords), node)


def _parameters(*names: str) -> ast.arguments:
    """A lambda's positional-only parameters."""
    return ast.arguments(posonlyargs=[ast.arg(arg=n) for n in names], args=[], vararg=None, kwonlyargs=[],
                         kw_defaults=[], kwarg=None, defaults=[])


def _key(index: ast.expr) -> ast.expr:
    """The object ``__getitem__`` receives for ``index``: slices become ``slice(...)`` calls."""
    if isinstance(index, ast.Slice):
        parts = [part if part is not None else ast.copy_location(ast.Constant(value=None), index)
                 for part in (index.lower, index.upper, index.step)]
        return ast.copy_location(ast.Call(func=ast.copy_location(ast.Name(id=SLICE, ctx=ast.Load()), index),
                                          args=parts, keywords=[]), index)
    if isinstance(index, ast.Tuple):
        return ast.copy_location(ast.Tuple(elts=[_key(element) for element in index.elts], ctx=ast.Load()), index)
    return index


def _insertion_point(body: List[ast.stmt]) -> int:
    """After the module docstring and ``from __future__`` imports, which must come first."""
    index = 0
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(
            body[0].value.value, str):
        index = 1
    while index < len(body) and isinstance(body[index], ast.ImportFrom) and body[index].module == "__future__":
        index += 1
    return index


def instrument(tree: ast.Module) -> ast.Module:
    """The tree to compile: ``tree`` with array method calls, hooked calls and operators routed through hooks."""
    tree = _ArrayMethodCalls().visit(tree)
    operations = _NumpyOperations()
    tree = operations.visit(tree)
    position = tree.body[0] if tree.body else None
    sites = ast.Assign(targets=[ast.Name(id=SITES, ctx=ast.Store())],
                       value=ast.Tuple(elts=operations.sites, ctx=ast.Load()))
    if position is not None:
        sites = ast.copy_location(sites, position)
        sites.targets[0] = ast.copy_location(sites.targets[0], position)
        sites.value = ast.copy_location(sites.value, position)
    tree.body.insert(_insertion_point(tree.body), sites)
    return ast.fix_missing_locations(tree)
