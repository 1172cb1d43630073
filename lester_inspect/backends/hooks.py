"""The hooks that the AST rewrite's calls, operators and subscripts go through (``ast_transform.py``).

They exist from the start of a run, whichever libraries the pipeline imports; each
asks the backends installed so far. The operation runs in the site's lambda (user
code); a hook only hands operands and result to the backend that records them:

* ``__lester_call__``: backends' ``hooked_calls()`` map a called name to handlers
  ``handler(receiver, name, args, kwargs)`` that return None (not theirs; they may
  prepare, e.g. patch a duck-typed estimator's class first) or ``(FunctionInfo,
  record)``, where ``record(call, result)`` is called after the call.
* ``__lester_operator__``: a non-plain result goes to the numpy backend's ``operation``.
* ``__lester_store__``: ``X[key] = value`` on anything but a Python container goes to the numpy
  backend's ``store`` after the store.
"""
from __future__ import annotations

import contextlib
import operator
import types
from typing import Any, Callable, Dict, List

from lester_inspect.instrumentation.ast_transform import CALL_HOOK, OPERATOR_HOOK, SETITEM, SITES, SLICE, STORE_HOOK
from lester_inspect.instrumentation.dag import CodeLocation

# Results that are never tracked arrays: the hook returns them without a look (loops stay fast).
_PLAIN = frozenset({int, float, bool, str, bytes, complex, type(None), list, tuple, dict, set})


class UserCodeHooks:
    def __init__(self, run):
        self.run = run
        self.running = False
        self._handlers: Dict[str, List[Callable]] = {}
        self._seen: List[Any] = []
        self._numpy = None

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
            try:
                entry[0](value, target, key)
            except BaseException as error:
                raise error.with_traceback(error.__traceback__.tb_next.tb_next)
            # Python containers are stored into in loops: they return at once (as _PLAIN results do).
            if type(target) in _PLAIN or not hooks.running or run.busy:
                return
            if run.tracer is not None:
                run.tracer(operator.setitem, (target, key, value), {}, None, CodeLocation(*entry[2:]))
            hooks._refresh()
            if hooks._numpy is not None:  # numpy arrays change in place without a patched method seeing it
                hooks._numpy.store(entry[2:], target, key, value)

        return {CALL_HOOK: call_hook, OPERATOR_HOOK: operator_hook, STORE_HOOK: store_hook, SLICE: slice,
                SETITEM: operator.setitem}

    def _record(self, chosen, location: CodeLocation, function, receiver, args, kwargs):
        """Call the site, then let the chosen handler record the result (never failing the call)."""
        from lester_inspect.instrumentation.run import OperatorCall

        function_info, record = chosen
        try:
            result = function(receiver, *args, **kwargs)
        except BaseException as error:
            raise error.with_traceback(error.__traceback__.tb_next.tb_next)
        run = self.run
        if run.tracer is not None:
            run.tracer(function, (receiver, *args), kwargs, result, location)
        call = OperatorCall(run, function_info, location, (receiver, *args), kwargs)
        run.busy = True
        try:
            run.current_arguments = call.describe_arguments
            record(call, result)
        except Exception as error:  # our bookkeeping must never break the user's pipeline
            run.report_internal_error(location, function_info, error)
        finally:
            run.busy = False
        return result
