"""The hooks that the AST rewrite's calls, operators and subscripts go through (``ast_transform.py``).

They exist from the start of a run, whichever libraries the pipeline imports; each
asks the backends installed so far. The operation runs in the site's lambda (user
code); a hook only hands operands and result to the backend that records them:

* ``__lester_call__``: backends' ``hooked_calls()`` map a called name to handlers
  ``handler(receiver, name, args, kwargs)`` that return None (not theirs; they may
  prepare, e.g. patch a duck-typed estimator's class first) or ``(FunctionInfo,
  record)``, where ``record(call, result)`` is called after the call.
* ``__lester_operator__``: a non-plain result goes to the numpy backend's ``operation``.
* ``__lester_store__``: ``X[key] = value`` on anything but a Python container goes, after the
  store, to every backend's ``store(position, target, key, value, augmented, shape)`` (the
  target's shape before the store: a ``df.loc`` store may add rows).
* ``__lester_augmented_load__`` / ``__lester_augmented_store__``: ``X[key] += value``. The load is
  not an operator of its own (``df.loc[m, "a"]`` would be a selection), the in-place operation and
  the store are recorded together by the backends' ``store`` with ``augmented="+="``.
"""
from __future__ import annotations

import contextlib
import functools
import operator
import types
from typing import Any, Callable, Dict, List, Optional

from lester_inspect.instrumentation.ast_transform import (AUGMENTED_LOAD_HOOK, AUGMENTED_STORE_HOOK, CALL_HOOK,
                                                          INPLACE, OPERATOR_HOOK, SETITEM, SITES, SLICE, STORE_HOOK)
from lester_inspect.instrumentation.dag import CodeLocation, FunctionInfo

# Results that are never tracked arrays: the hook returns them without a look (loops stay fast).
_PLAIN = frozenset({int, float, bool, str, bytes, complex, type(None), list, tuple, dict, set})


class UserCodeHooks:
    def __init__(self, run):
        self.run = run
        self.running = False
        self._handlers: Dict[str, List[Callable]] = {}
        self._seen: List[Any] = []
        self._numpy = None
        self._stores: List[Callable] = []

    @contextlib.contextmanager
    def active(self):
        """Record only while the pipeline runs (its functions may be called after the run)."""
        self.running = True
        try:
            yield
        finally:
            self.running = False

    def _refresh(self) -> None:
        backends = self.run.backends
        if len(backends) == len(self._seen):
            return
        self._seen = list(backends)
        self._handlers = {}
        self._stores = [backend.store for backend in backends if hasattr(backend, "store")]
        for backend in backends:
            for name, handler in (backend.hooked_calls() if hasattr(backend, "hooked_calls") else {}).items():
                self._handlers.setdefault(name, []).append(handler)
            if hasattr(backend, "operation"):
                self._numpy = backend

    def functions(self, module: types.ModuleType) -> Dict[str, Callable]:
        """The hooks to put into the module's namespace before it runs."""
        namespace, run, hooks = module.__dict__, self.run, self

        def call_hook(site, receiver, /, *args, **kwargs):
            function, name = namespace[SITES][site][:2]
            if hooks.running and not run.busy:
                hooks._refresh()
                for handler in hooks._handlers.get(name, ()):
                    chosen = handler(receiver, name, args, kwargs)
                    if chosen is not None:
                        position = namespace[SITES][site][2:]
                        return hooks._record(chosen, CodeLocation(*position), function, receiver, args, kwargs)
            try:
                return function(receiver, *args, **kwargs)
            except BaseException as error:  # the site's lambda is ours: the traceback goes on below it
                raise error.with_traceback(error.__traceback__.tb_next.tb_next)

        def operator_hook(site, *operands):
            entry = namespace[SITES][site]
            try:
                result = entry[0](*operands)
            except BaseException as error:
                raise error.with_traceback(error.__traceback__.tb_next.tb_next)
            if type(result) in _PLAIN or not hooks.running or run.busy:
                return result
            if run.tracer is not None:
                run.tracer(entry[0], operands, {}, result, CodeLocation(*entry[2:]))
            hooks._refresh()
            if hooks._numpy is not None:
                hooks._numpy.operation(entry[1], entry[2:], operands, result)
            return result

        def store_hook(site, value, target, key):
            entry = namespace[SITES][site]
            # Python containers are stored into in loops: they return at once (as _PLAIN results do).
            watched = type(target) not in _PLAIN and hooks.running and not run.busy
            shape = hooks._before_store(target) if watched else None
            try:
                entry[0](value, target, key)
            except BaseException as error:
                raise error.with_traceback(error.__traceback__.tb_next.tb_next)
            if watched:  # arrays and frames change in place without a patched method seeing it
                if run.tracer is not None:
                    run.tracer(operator.setitem, (target, key, value), {}, None, CodeLocation(*entry[2:]))
                hooks._stored(entry[2:], target, key, value, None, shape)

        def augmented_load_hook(site, target, key):
            watched = hooks.running and not run.busy
            run.busy = run.busy or watched
            try:
                return target, key, namespace[SITES][site][0](target, key)
            except BaseException as error:
                raise error.with_traceback(error.__traceback__.tb_next.tb_next)
            finally:
                if watched:
                    run.busy = False

        def augmented_store_hook(site, target, key, current, value):
            entry = namespace[SITES][site]
            watched = type(target) not in _PLAIN and hooks.running and not run.busy
            shape = hooks._before_store(target) if watched else None
            run.busy = run.busy or watched
            try:
                entry[0](target, key, current, value)
            except BaseException as error:
                raise error.with_traceback(error.__traceback__.tb_next.tb_next)
            finally:
                if watched:
                    run.busy = False
            if watched:
                if run.tracer is not None:  # made again, the store reads its target's current value anew
                    run.tracer(functools.partial(_augmented, entry[0]), (target, key, value), {}, None,
                               CodeLocation(*entry[2:]))
                hooks._stored(entry[2:], target, key, value, entry[1], shape)

        return {CALL_HOOK: call_hook, OPERATOR_HOOK: operator_hook, STORE_HOOK: store_hook, SLICE: slice,
                SETITEM: operator.setitem, AUGMENTED_LOAD_HOOK: augmented_load_hook,
                AUGMENTED_STORE_HOOK: augmented_store_hook, INPLACE: operator}

    def _before_store(self, target: Any) -> Optional[tuple]:
        """The shape of what a store changes (a ``df.loc`` store may add rows), before the store.

        A pending Series expression becomes its node now, so that the node shows the values it had.
        """
        changed = target.obj if type(target).__module__ == "pandas.core.indexing" else target
        tracked = self.run.tracked(changed)
        if tracked is not None and tracked.node is None:
            try:
                self.run.input_node(changed, None)
            except Exception as error:  # our bookkeeping must never break the user's pipeline
                self.run.report_internal_error(None, FunctionInfo("", "store"), error)
        return getattr(changed, "shape", None)

    def _stored(self, position: tuple, target: Any, key: Any, value: Any, augmented, shape) -> None:
        self._refresh()
        for store in self._stores:
            store(position, target, key, value, augmented, shape)

    def _record(self, chosen, location: CodeLocation, function, receiver, args, kwargs):
        """Call the site, then let the chosen handler record the result (never failing the call)."""
        from lester_inspect.instrumentation.run import OperatorCall

        function_info, record = chosen
        try:
            result = function(receiver, *args, **kwargs)
        except BaseException as error:
            raise error.with_traceback(error.__traceback__.tb_next.tb_next)
        if self.run.tracer is not None:
            self.run.tracer(function, (receiver, *args), kwargs, result, location)
        self.run.record(record, OperatorCall(self.run, function_info, location, (receiver, *args), kwargs), result)
        return result


def _augmented(store: Callable, target: Any, key: Any, value: Any) -> None:
    """``target[key] op= value`` by the site's ``store(target, key, current, value)``: what a tracer makes again."""
    store(target, key, target[key], value)
