"""One instrumented execution of a pipeline: patches, the DAG being built, and what is known of live objects.

All state of a run lives in its ``InstrumentedRun``; nothing is global, so two runs in
one process cannot see each other's nodes.
"""
from __future__ import annotations

import builtins
import contextlib
import functools
import os
import sys
import types
import warnings
from typing import Any, Callable, Iterable, List, Optional, Sequence

from lester_inspect.instrumentation.ast_transform import ARRAY_METHOD_HOOK
from lester_inspect.instrumentation.call_site import CallSites
from lester_inspect.instrumentation.dag import CodeLocation, Dag, DagNode, FunctionInfo, OperatorType
from lester_inspect.instrumentation.imports import ImportWatcher
from lester_inspect.instrumentation.patching import PatchSet
from lester_inspect.instrumentation.rows import IDENTITY, Input, ProvenanceCut
from lester_inspect.instrumentation.source import PipelineSource
from lester_inspect.instrumentation.tracking import ObjectTable, Tracked

# Called for every operator with (node, inputs, output): inspections, artifact capture.
Observer = Callable[[DagNode, List[Input], Any], None]
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNKNOWN_FUNCTION = FunctionInfo("", "unknown")


class OperatorCall:
    """A call of a patched API made by user code: what was called, where, and with what."""

    __slots__ = ("run", "function", "location", "args", "kwargs", "extra")

    def __init__(self, run: "InstrumentedRun", function: FunctionInfo, location: CodeLocation,
                 args: tuple, kwargs: dict):
        self.run = run
        self.function = function
        self.location = location
        self.args = args
        self.kwargs = kwargs
        # What a handler's ``prepare`` step learnt while the call ran (e.g. a join's row positions).
        self.extra = None

    def describe_arguments(self) -> dict:
        """The call's arguments after the receiver, data shown by type and shape."""
        described = {f"arg{index}": _describe_value(value) for index, value in enumerate(self.args[1:], 1)}
        described.update((key, _describe_value(value)) for key, value in self.kwargs.items())
        return described

    def arg(self, position: int, name: str, default: Any = None) -> Any:
        """An argument given by position (counting ``self`` for methods) or by keyword."""
        if name in self.kwargs:
            return self.kwargs[name]
        if position < len(self.args):
            return self.args[position]
        return default


def function_info(original: Callable) -> FunctionInfo:
    module = getattr(original, "__module__", None) or ""
    return FunctionInfo(module, getattr(original, "__qualname__", None) or getattr(original, "__name__", "?"))


class InstrumentedRun:
    """Executes a pipeline under instrumentation and builds its DAG."""

    def __init__(self, source: PipelineSource, observers: Sequence[Observer] = ()):
        self.source = source
        self.call_sites = CallSites(source)
        self.dag = Dag(pipeline=source.path or source.filename)
        self.objects = ObjectTable()
        self.patches = PatchSet()
        # True while an operator runs: calls it makes (pandas calling pandas, a UDF
        # calling pandas, a Pipeline fitting its steps) are not operators of their own.
        self.busy = False
        self.observing = False
        self.internal_errors: List[str] = []
        self.observers = list(observers)
        # Set by observers that need row mappings (annotation propagation); handlers with a
        # ``prepare`` step then push row ids through the call.
        self.tracks_rows = False
        # The annotation keys observers propagate (engines that carry annotations carry these).
        self.annotation_keys = frozenset()
        # A thunk giving the arguments of the operator being recorded (for ArgumentCapturing).
        self.current_arguments: Optional[Callable[[], dict]] = None
        # The user's frame making the operator call being recorded: names untracked inputs.
        self._caller = None
        self._node_count = 0
        # id(Index array) -> (the array, kept alive so the id stays its own, its names as strings).
        self._names_of_arrays: dict = {}
        # The backends installed so far: each when its library is first imported (``patched``).
        self.backends: list = []
        # If set, told every call from user code the run records, before its nodes are added:
        # ``tracer(function, args, kwargs, result, location)``, so that what-if variants can make
        # the call again on other data (whatif/recompute.py). An in-place call returns None.
        self.tracer: Optional[Callable] = None

    # -- what user code calls ------------------------------------------------------------------

    def wrap(self, original: Callable, handler: Callable[[OperatorCall, Any], None],
             invoke: Optional[Callable] = None) -> Callable:
        """A replacement for ``original`` that records an operator when user code calls it.

        ``invoke``, if given, makes the recorded call in place of ``original`` (a backend that runs
        the user's call its own way); calls from library code always go to ``original``.
        """
        run = self
        is_user_code = self.call_sites.is_user_code
        function = function_info(original)
        recorded_call = original if invoke is None else invoke

        @functools.wraps(original)
        def patched(*args, **kwargs):
            if run.busy:
                return original(*args, **kwargs)
            caller = sys._getframe(1)
            if not is_user_code(caller.f_code):
                return original(*args, **kwargs)
            return run.call_operator(handler, function, recorded_call, caller, args, kwargs)

        return patched

    def call_operator(self, handler, function: FunctionInfo, original: Callable, caller, args, kwargs):
        call = OperatorCall(self, function, self.call_sites.location(caller), args, kwargs)
        self.busy = True
        self._caller = caller
        try:
            result = self._call_prepared(handler, call, original) if self.tracks_rows and hasattr(
                handler, "prepare") else original(*args, **kwargs)
            if self.tracer is not None:
                self.tracer(original, args, kwargs, result, call.location)
            self.current_arguments = call.describe_arguments
            try:
                handler(call, result)
            except Exception as error:  # our bookkeeping must never break the user's pipeline
                self.report_internal_error(call.location, function, error)
        finally:
            self.busy = False
            self._caller = None
        return result

    def _call_prepared(self, handler, call: OperatorCall, original: Callable):
        """Call ``original`` with the handler's changed arguments (e.g. hidden row ids) and undo them.

        The user gets exactly the plain result: if preparing or undoing fails, the
        call is made again as the user wrote it.
        """
        try:
            args, kwargs, finish = handler.prepare(call)
        except Exception as error:
            self.report_internal_error(call.location, call.function, error)
            return original(*call.args, **call.kwargs)
        result = original(*args, **kwargs)
        try:
            result, call.extra = finish(result)
            return result
        except Exception as error:
            self.report_internal_error(call.location, call.function, error)
            return original(*call.args, **call.kwargs)

    def record(self, handler: Callable[[OperatorCall, Any], None], call: OperatorCall, result: Any) -> None:
        """Let ``handler`` record ``call`` (an operation hooked rather than patched), never failing the pipeline."""
        was_busy, self.busy = self.busy, True  # what the handler calls is not an operator
        try:
            self.current_arguments = call.describe_arguments
            handler(call, result)
        except Exception as error:  # our bookkeeping must never break the user's pipeline
            self.report_internal_error(call.location, call.function, error)
        finally:
            self.busy = was_busy

    def report_internal_error(self, location: Optional[CodeLocation], function: FunctionInfo,
                              error: Exception) -> None:
        self.internal_errors.append(f"{location}: {function}: {type(error).__name__}: {error}")

    # -- the DAG ---------------------------------------------------------------------------------

    def add_node(self, operator_type: OperatorType, function: FunctionInfo, location: Optional[CodeLocation],
                 description: str, columns: Iterable, inputs: Sequence[Input] = (), output: Any = None,
                 **attributes) -> DagNode:
        """Add an operator, connect it to its inputs' nodes and record ``output`` as its product.

        ``attributes`` go onto the graph node: ``derivations`` ({new column: [(input node,
        input column), ...]}) for columns computed from others, ``source_path`` for files read.
        """
        node = DagNode(self._node_count, operator_type, function, location,
                       self.call_sites.snippet(location), description, self._column_names(columns))
        self._node_count += 1
        self.dag.add_node(node, **attributes)
        inputs = [item for item in inputs if item.node is not None]
        parents = []
        for item in inputs:
            if item.node not in parents:
                self.dag.add_edge(item.node, node, input_index=len(parents))
                parents.append(item.node)
            if item.carries_rows:
                item.on_unknown(lambda unknown, node=node: self.record_cut(
                    node, f"{node.function.name}: {unknown.reason}", node.function, node.code_location))
                if not self.tracks_rows:
                    # No observer will ask for the mapping: whether it is a cut is found now (later, in-place
                    # changes could alter the answer, and keeping the thunk would keep its data alive).
                    item.find_cut()
        if output is not None:
            self.set_producer(output, node)
        self._observe(node, inputs, output)
        return node

    def _column_names(self, columns: Iterable) -> tuple:
        # Frames derived from one another share their column Index's array (an immutable
        # object): converting the names once per array instead of once per operator matters
        # in loops of small pandas calls, where iterating a string Index costs ~10 us.
        array = None
        if type(columns).__module__.partition(".")[0] == "pandas":
            try:
                array = columns.array
            except ValueError:  # a MultiIndex has no single array
                pass
        if array is None:
            return tuple(str(c) for c in columns)
        cached = self._names_of_arrays.get(id(array))
        if cached is None or cached[0] is not array:
            if len(self._names_of_arrays) >= 256:
                self._names_of_arrays.clear()
            cached = self._names_of_arrays[id(array)] = (array, tuple(str(c) for c in columns))
        return cached[1]

    def _observe(self, node: DagNode, inputs: Sequence[Input], output: Any) -> None:
        if self.observers:
            # What observers call (a capture predicting with the model) is theirs, not the pipeline's.
            was_busy, self.busy, self.observing = self.busy, True, True
            try:
                for observer in self.observers:
                    observer(node, inputs, output)
            finally:
                self.busy, self.observing = was_busy, False

    def record_cut(self, node: DagNode, reason: str, function: FunctionInfo,
                   location: Optional[CodeLocation]) -> ProvenanceCut:
        """Mark ``node`` as a place where row provenance stops (see ``ProvenanceCut``)."""
        earlier = self.dag.nodes[node].get("provenance_cut")
        if earlier is not None and reason not in earlier.reason.split("; "):
            reason = f"{earlier.reason}; {reason}"
        cut = ProvenanceCut(reason, function, location, node.node_id)
        self.dag.nodes[node]["provenance_cut"] = cut
        return cut

    def input(self, obj: Any, location: Optional[CodeLocation], rows=IDENTITY) -> Input:
        """``obj`` as an operator input (see ``input_node``), with how the output's rows relate to it."""
        return Input(self.input_node(obj, location), obj, rows)

    def set_producer(self, obj: Any, node: DagNode) -> None:
        previous = self.objects.get(obj)
        # An object modified in place (``df['a'] = ...``) keeps its annotations until
        # the observers replace them.
        self.objects.set(obj, Tracked(node=node, annotations=previous.annotations if previous else None))

    def tracked(self, obj: Any) -> Optional[Tracked]:
        return self.objects.get(obj)

    def input_node(self, obj: Any, location: Optional[CodeLocation], untracked_as_source: bool = True
                   ) -> Optional[DagNode]:
        """The node that produced ``obj`` as an operator input, creating it where needed.

        A pending Series expression becomes its node now; data from an operation we
        do not patch becomes an *untracked* data source (unless ``untracked_as_source``
        is False), so the DAG never loses an input: a source that is also a provenance
        cut, saying what made the data and where it was first used.
        """
        tracked = self.objects.get(obj)
        if tracked is None:
            tracked = self._tracked_view_base(obj)
        if tracked is not None:
            if tracked.node is None:
                tracked.node = tracked.expression.materialize(self, obj)
            return tracked.node
        if not _is_data(obj):
            return None
        for backend in self.backends:
            # A backend that knows where untracked data came from (a random draw) makes its source.
            found = backend.find_source(obj) if hasattr(backend, "find_source") else None
            if found is not None:
                return found
        if not untracked_as_source:
            return None
        return self._untracked_source(obj, location)

    def _untracked_source(self, obj: Any, location: Optional[CodeLocation]) -> DagNode:
        kind = type(obj).__name__
        made_by = self._assignment_that_made(obj, location)
        first_use = f"first used at {location}" if location is not None else "first used by lester-inspect"
        if made_by is None:
            function, where = UNKNOWN_FUNCTION, location
            description = f"Untracked {kind} (made by code lester-inspect does not follow), {first_use}"
            reason = f"{kind} made by code lester-inspect does not follow, {first_use}"
        else:
            where, callee = made_by
            function = FunctionInfo("", callee) if callee else UNKNOWN_FUNCTION
            made = f"`{self.call_sites.snippet(where)}` ({where})"
            description = f"Untracked {kind} made by {made}, which lester-inspect does not follow; {first_use}"
            reason = (f"{callee or kind}: made by `{self.call_sites.snippet(where)}`, which lester-inspect does not "
                      f"follow; {first_use}")
        # Cuts are recorded before the observers see the node: they must not mistake it for a real source.
        was_observed, self.observers = self.observers, []
        try:
            # No patched function made this node; the cut names the call that did, where it is known.
            node = self.add_node(OperatorType.DATA_SOURCE, UNKNOWN_FUNCTION, location, description, columns_of(obj),
                                 (), obj)
        finally:
            self.observers = was_observed
        self.record_cut(node, f"{reason}; its rows are not linked to any data source", function, where)
        self._observe(node, [], obj)
        return node

    def _assignment_that_made(self, obj: Any, location: Optional[CodeLocation]):
        """The user's ``name = call(...)`` statement that bound ``obj`` before its first use, if found."""
        frame = self._caller
        source = self.call_sites.source_for(location) if location is not None else None
        if frame is None or source is None:
            return None
        for name in source.names_in(location):
            value = frame.f_locals.get(name, frame.f_globals.get(name))
            if value is obj:
                found = source.assignment_before(name, location)
                if found is not None:
                    return found[0]._replace(file=location.file), found[1]
        return None

    def _tracked_view_base(self, obj: Any) -> Optional[Tracked]:
        # ``label_binarize(...).ravel()`` and friends return numpy views of a tracked
        # array; a view with the same rows carries the same data.
        base = getattr(obj, "base", None)
        rows = getattr(obj, "shape", (None,))[:1]
        while base is not None and hasattr(base, "shape"):
            tracked = self.objects.get(base)
            if tracked is not None and base.shape[:1] == rows:
                return tracked
            base = getattr(base, "base", None)
        return None

    def array_method(self, receiver: Any, name: str, *args, **kwargs) -> Any:
        """``receiver.name(*args, **kwargs)``; a result with the receiver's rows keeps its node."""
        result = getattr(receiver, name)(*args, **kwargs)
        if self.tracer is not None and not self.busy:
            self.tracer(getattr(type(receiver), name), (receiver, *args), kwargs, result, None)
        tracked = self.objects.get(receiver)
        if (tracked is not None and result is not receiver and self.objects.get(result) is None
                and getattr(result, "shape", (None,))[:1] == getattr(receiver, "shape", (None,))[:1]):
            self.objects.set(result, tracked)
        return result

    # -- execution -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def patched(self):
        """Patch the libraries already imported now, the others when the pipeline imports them."""
        from lester_inspect.backends import BACKENDS

        watcher = None
        try:
            self.patches.apply(warnings, "warn", _warn_past_our_frames(warnings.warn))
            waiting = {}
            for module, backend in BACKENDS.items():
                if module in sys.modules:
                    self._install(backend)
                else:
                    waiting[module] = backend
            if waiting:
                watcher = ImportWatcher(waiting, self._install)
                sys.meta_path.insert(0, watcher)
            yield
        finally:
            if watcher is not None:
                sys.meta_path.remove(watcher)
            self.patches.revert()

    def _install(self, path: str) -> None:
        from lester_inspect.backends import load_backend

        backend = load_backend(path)(self)
        try:
            backend.install(self.patches)
        except Exception as error:  # a library version we cannot patch must not break the user's import
            self.report_internal_error(None, FunctionInfo(path, "install"), error)
        self.backends.append(backend)

    def execute(self, args: Sequence[str] = (), namespace: Optional[dict] = None) -> None:
        """Run the pipeline as ``python pipeline.py ARGS`` would, with every patch reverted afterwards.

        With ``namespace`` (a notebook's variables), the code runs in it instead of a new ``__main__``.
        """
        if namespace is not None:
            from lester_inspect.backends.hooks import UserCodeHooks

            hooks = UserCodeHooks(self)
            holder = _NamespaceHolder()
            holder.__dict__ = namespace  # functions() reads the namespace as a module's
            added = {ARRAY_METHOD_HOOK: self.array_method, **hooks.functions(holder)}
            namespace.update(added)
            try:
                with self.patched(), hooks.active():
                    exec(self.source.compile(), namespace)
            except BaseException as error:
                raise error.with_traceback(_without_our_frames(error.__traceback__))
            finally:
                for name in added:
                    namespace.pop(name, None)
            return
        code = self.source.compile()
        module = types.ModuleType("__main__")
        module.__builtins__ = builtins
        setattr(module, ARRAY_METHOD_HOOK, self.array_method)
        from lester_inspect.backends.hooks import UserCodeHooks

        hooks = UserCodeHooks(self)
        for name, hook in hooks.functions(module).items():
            setattr(module, name, hook)
        script_dir = None
        if self.source.path is not None:
            module.__file__ = self.source.path
            script_dir = os.path.dirname(self.source.path)
        saved_main, saved_argv = sys.modules.get("__main__"), sys.argv
        sys.modules["__main__"] = module
        sys.argv = [self.source.path or "-c", *args]
        if script_dir is not None:
            sys.path.insert(0, script_dir)
        try:
            with self.patched(), hooks.active():
                exec(code, module.__dict__)
        except SystemExit as error:
            if error.code not in (None, 0):
                raise error.with_traceback(_without_our_frames(error.__traceback__))
        except BaseException as error:
            raise error.with_traceback(_without_our_frames(error.__traceback__))
        finally:
            if saved_main is not None:
                sys.modules["__main__"] = saved_main
            sys.argv = saved_argv
            if script_dir is not None and script_dir in sys.path:
                sys.path.remove(script_dir)


class _NamespaceHolder:
    """Stands for a module whose ``__dict__`` is a notebook's namespace."""


_RUNTIME = tuple(os.path.join(_PACKAGE_DIR, part) for part in
                 ("instrumentation" + os.sep, "backends" + os.sep, "inspections" + os.sep, "spark" + os.sep,
                  "inspector.py"))


def _is_ours(frame) -> bool:
    """A frame of the instrumentation itself (not of library code users call, like ``models.py``)."""
    return frame.f_code.co_filename.startswith(_RUNTIME)


def _warn_past_our_frames(original_warn):
    """``warnings.warn`` attributing warnings to the frame they would have without our wrappers.

    Libraries choose the frame with ``stacklevel`` (pandas counts its own frames);
    our wrapper frames between the user and the library would otherwise be blamed.
    """

    @functools.wraps(original_warn)
    def warn(message, category=None, stacklevel=1, source=None):
        extra = 0
        try:
            frame = sys._getframe(stacklevel)
        except ValueError:  # deeper than the stack: warnings attributes it to "sys"
            frame = None
        while frame is not None and _is_ours(frame):
            frame, extra = frame.f_back, extra + 1
        return original_warn(message, category, stacklevel + extra + 1, source)

    return warn


def _without_our_frames(traceback):
    kept = []
    while traceback is not None:
        if not _is_ours(traceback.tb_frame):
            kept.append(traceback)
        traceback = traceback.tb_next
    for earlier, later in zip(kept, kept[1:]):
        earlier.tb_next = later
    if kept:
        kept[-1].tb_next = None
        return kept[0]
    return None


def _describe_value(value: Any) -> Any:
    shape = getattr(value, "shape", None)
    if shape is not None and not isinstance(value, type) and len(shape) > 0:
        return f"<{type(value).__name__} {'x'.join(str(d) for d in shape)}>"
    return value


def _is_data(obj: Any) -> bool:
    return hasattr(obj, "shape") and hasattr(obj, "__len__") and not isinstance(obj, type)


def columns_of(obj: Any) -> list:
    """Column names of a data object: a frame's columns, a Series' name, ``x0..`` for a matrix's columns."""
    columns = getattr(obj, "columns", None)
    if columns is not None:
        return list(columns)
    if hasattr(obj, "name") and hasattr(obj, "shape"):
        return [obj.name]
    shape = getattr(obj, "shape", ())
    if len(shape) == 2:
        return [f"x{i}" for i in range(shape[1])]
    return ["array"] if shape else []
