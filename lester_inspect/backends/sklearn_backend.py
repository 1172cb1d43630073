"""scikit-learn operators: estimators, transformers, composites, train/test split.

Every ``BaseEstimator`` subclass is handled the same way, including the user's own
transformers and models: its ``fit``/``transform``/``predict``/``score`` methods are
patched where they are defined (classes defined during the run are patched when
their ``class`` statement finishes). A call from user code becomes an operator;
composites (``Pipeline``, ``ColumnTransformer``, ``FeatureUnion``, a search's refit)
are expanded into their steps as sklearn calls them, and the construction site of
each step is its code location, since the steps are not called from user code.
"""
from __future__ import annotations

import functools
import inspect
import sys
import weakref
from typing import Any, Dict, List, Optional

import numpy as np
import pandas as pd

from lester_inspect.backends.formatting import column_list, short_repr
from lester_inspect.instrumentation.dag import CodeLocation, DagNode, FunctionInfo, OperatorType
from lester_inspect.instrumentation.rows import IDENTITY, NOT_COMPUTED, Input, Positions, Unknown
from lester_inspect.instrumentation.run import InstrumentedRun, OperatorCall, columns_of
from lester_inspect.instrumentation.tracking import ObjectTable

T = OperatorType
FIT_METHODS = ("fit", "fit_transform", "fit_predict")
PREDICT_METHODS = ("predict", "predict_proba", "predict_log_proba", "decision_function")
ESTIMATOR_METHODS = FIT_METHODS + ("transform", "score") + PREDICT_METHODS
# sklearn's helpers that construct estimators for the user: the user's call is the construction site.
_FACTORIES = frozenset({"make_pipeline", "make_column_transformer", "make_union", "_name_estimators"})


class EstimatorCall:
    """One patched estimator method call on the stack of calls being expanded."""

    def __init__(self, estimator, method: str, args: tuple, kwargs: dict,
                 location: Optional[CodeLocation], parent: Optional["EstimatorCall"]):
        self.estimator = estimator
        self.method = method
        self.X = args[0] if args else kwargs.get("X")
        self.y = args[1] if len(args) > 1 else kwargs.get("y")
        self.location = location
        self.parent = parent
        self.root = parent.root if parent is not None else self
        # Only on the root: train/test data and label nodes stand in for the user's objects.
        self.substitutes: Dict[int, DagNode] = {}
        self.branch_outputs: List[Input] = []

    @property
    def function(self) -> FunctionInfo:
        cls = type(self.estimator)
        return FunctionInfo(cls.__module__, f"{cls.__name__}.{self.method}")


def _is_model(estimator) -> bool:
    return hasattr(estimator, "predict") or hasattr(estimator, "predict_proba")


def _all_subclasses(cls: type) -> List[type]:
    found, todo = [], [cls]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.append(sub)
                todo.append(sub)
    return found


class _PatchedDescriptor:
    """Wraps a method descriptor such as sklearn's ``available_if`` and keeps its ``hasattr`` behaviour."""

    def __init__(self, descriptor, name: str, backend: "SklearnBackend"):
        self.descriptor = descriptor
        self.name = name
        self.backend = backend
        functools.update_wrapper(self, descriptor, assigned=("__doc__",), updated=())

    def __get__(self, obj, owner=None):
        bound = self.descriptor.__get__(obj, owner)
        if obj is None:
            return bound
        backend, name = self.backend, self.name

        @functools.wraps(bound)
        def patched(*args, **kwargs):
            return backend.call(obj, name, bound, args, kwargs, sys._getframe(1))

        return patched


class SklearnBackend:
    def __init__(self, run: InstrumentedRun):
        self.run = run
        self.stack: List[EstimatorCall] = []
        self.constructed_at = ObjectTable()
        self._instrumented = set()
        self._defining_classes = 0
        self._patches = None
        # The folds of the cross-validation running now, if any.
        self.folds: Optional[Folds] = None

    # -- installation ------------------------------------------------------------------------------

    def install(self, patches) -> None:
        import sklearn.model_selection
        import sklearn.preprocessing
        from sklearn.base import BaseEstimator
        from sklearn.utils._metadata_requests import _MetadataRequester
        from sklearn.utils._set_output import _SetOutputMixin

        self._patches = patches
        run = self.run
        patches.apply(sklearn.model_selection, "train_test_split",
                      run.wrap(sklearn.model_selection.train_test_split, train_test_split))
        patches.apply(sklearn.preprocessing, "label_binarize",
                      run.wrap(sklearn.preprocessing.label_binarize, label_binarize))
        for name in ("cross_val_score", "cross_validate", "cross_val_predict"):
            patches.apply(sklearn.model_selection, name,
                          self._cross_validation(getattr(sklearn.model_selection, name)))
        patches.apply(BaseEstimator, "__sklearn_clone__", self._clone_keeping_location(
            vars(BaseEstimator)["__sklearn_clone__"]))
        for hooked in (_MetadataRequester, _SetOutputMixin):
            patches.apply(hooked, "__init_subclass__", self._instrumenting_init_subclass(
                vars(hooked)["__init_subclass__"]))
        for cls in _all_subclasses(BaseEstimator):
            self.instrument_class(cls)

    def _instrumenting_init_subclass(self, original: classmethod) -> classmethod:
        backend = self

        def __init_subclass__(cls, **kwargs):
            # Instrument only when the outermost hook returns: sklearn's set_output
            # wraps ``transform`` after its super() call, and must wrap the original.
            backend._defining_classes += 1
            try:
                original.__func__(cls, **kwargs)
            finally:
                backend._defining_classes -= 1
            if backend._defining_classes == 0:
                backend.instrument_class(cls)

        return classmethod(__init_subclass__)

    def _clone_keeping_location(self, original):
        constructed_at = self.constructed_at

        @functools.wraps(original)
        def __sklearn_clone__(estimator):
            clone = original(estimator)
            location = constructed_at.get(estimator)
            if location is not None:
                constructed_at.set(clone, location)
            return clone

        return __sklearn_clone__

    def instrument_class(self, cls: type) -> None:
        from sklearn.base import BaseEstimator

        for klass in cls.__mro__:
            if klass in self._instrumented or klass is object:
                continue
            self._instrumented.add(klass)
            if not (issubclass(klass, BaseEstimator) or klass.__module__.startswith("sklearn.")):
                continue
            own = vars(klass)
            if "__init__" in own and callable(own["__init__"]):
                self._patches.apply(klass, "__init__", self._recording_init(own["__init__"]))
            elif klass is BaseEstimator:
                # Estimators without parameters (``class Doubler(TransformerMixin, BaseEstimator)``)
                # have no __init__ of their own to wrap; give them one here, on BaseEstimator. (Not
                # __new__: once deleted again, CPython keeps a stale slot that rejects arguments.)
                self._patches.apply(klass, "__init__", self._recording_init(object.__init__))
            for name in ESTIMATOR_METHODS:
                if name in own:
                    self._patches.apply(klass, name, self._patched_method(own[name], name))

    def _recording_init(self, original):
        constructed_at, call_sites = self.constructed_at, self.run.call_sites

        def __init__(self, /, *args, **kwargs):
            if constructed_at.get(self) is None:
                caller = sys._getframe(1)
                while caller.f_code.co_name in _FACTORIES and caller.f_back is not None:
                    caller = caller.f_back  # make_pipeline(...) constructs where the user calls it
                if call_sites.is_user_code(caller.f_code):
                    constructed_at.set(self, call_sites.location(caller))
            return original(self, *args, **kwargs)

        if original is object.__init__:
            # sklearn reads an estimator's parameters from its __init__ signature: none here.
            __init__.__signature__ = inspect.Signature([inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)])
            return __init__
        return functools.wraps(original)(__init__)

    def _patched_method(self, original, name: str):
        if not isinstance(original, type(lambda: None)):
            return _PatchedDescriptor(original, name, self)
        backend = self

        @functools.wraps(original)
        def patched(self, /, *args, **kwargs):
            return backend.call(self, name, functools.partial(original, self), args, kwargs, sys._getframe(1))

        return patched

    def instrument_duck_class(self, cls: type) -> None:
        """Patch an estimator class with the scikit-learn API that does not derive from BaseEstimator."""
        for klass in cls.__mro__:
            if klass in self._instrumented or klass is object:
                continue
            self._instrumented.add(klass)
            own = vars(klass)
            for name in ESTIMATOR_METHODS:
                if name in own and callable(own[name]):
                    self._patches.apply(klass, name, self._patched_method(own[name], name))

    def hooked_calls(self) -> Dict[str, Any]:
        """``model.fit(...)`` on a duck-typed estimator: patch its class before the call reaches it."""

        def instrument(receiver, name: str, args: tuple, kwargs: dict):
            if _is_duck_estimator(receiver) and type(receiver) not in self._instrumented:
                self.instrument_duck_class(type(receiver))
            return None

        return {name: instrument for name in ESTIMATOR_METHODS}

    def _cross_validation(self, original):
        """``cross_val_score`` and friends: the folds become splits, each fold's fit and score operators."""
        backend, run = self, self.run
        signature = inspect.signature(original)

        @functools.wraps(original)
        def patched(*args, **kwargs):
            caller = sys._getframe(1)
            if run.busy or backend.stack or backend.folds is not None or not run.call_sites.is_user_code(
                    caller.f_code):
                return original(*args, **kwargs)
            location = run.call_sites.location(caller)
            try:
                bound = signature.bind(*args, **kwargs)
                folds = Folds.prepare(backend, original.__name__, bound.arguments, location)
            except Exception as error:  # e.g. metadata routing: the folds are left to sklearn, unseen
                run.report_internal_error(location, function_info_of(original), error)
                return original(*args, **kwargs)
            if folds is None:
                return original(*args, **kwargs)
            bound.arguments["cv"] = folds.splits  # the same splits sklearn would draw, drawn once
            backend.folds = folds
            try:
                result = original(*bound.args, **bound.kwargs)
            finally:
                backend.folds = None
            backend._guarded_call(folds.finish, location, original, result)
            return result

        return patched

    def _guarded_call(self, step, location, original, *args) -> None:
        try:
            step(*args)
        except Exception as error:  # our bookkeeping must never break the user's pipeline
            self.run.report_internal_error(location, function_info_of(original), error)

    # -- calls -------------------------------------------------------------------------------------

    def call(self, estimator, method: str, bound, args: tuple, kwargs: dict, caller):
        run, stack = self.run, self.stack
        if run.observing:
            return bound(*args, **kwargs)
        if stack:
            if any(frame.estimator is estimator for frame in stack) or not _expands(stack[-1], estimator):
                return bound(*args, **kwargs)
            location = self.constructed_at.get(estimator)
        elif self.folds is not None and self.folds.owns(estimator):
            # A fold's fit or score inside cross_val_score: a root call at the user's cross-validation.
            location = self.folds.location
        elif run.busy or not run.call_sites.is_user_code(caller.f_code):
            return bound(*args, **kwargs)
        else:
            location = run.call_sites.location(caller)
        frame = EstimatorCall(estimator, method, args, kwargs, location, stack[-1] if stack else None)
        if frame.parent is None and self.folds is not None and self.folds.owns(estimator):
            self._guarded(self.folds.split_for, frame)
        run.current_arguments = functools.partial(_parameters, estimator)
        self._guarded(self._before, frame)
        was_busy, run.busy = run.busy, True
        stack.append(frame)
        try:
            result = bound(*args, **kwargs)
        finally:
            stack.pop()
            run.busy = was_busy
        run.current_arguments = functools.partial(_parameters, estimator)
        self._guarded(self._after, frame, result)
        return result

    def _guarded(self, step, frame: EstimatorCall, *args) -> None:
        try:
            step(frame, *args)
        except Exception as error:  # our bookkeeping must never break the user's pipeline
            self.run.report_internal_error(frame.location, frame.function, error)

    def _input(self, frame: EstimatorCall, obj, rows=IDENTITY) -> Input:
        """``obj`` as input of a step; the root's train/test data nodes stand in for the user's objects."""
        substitute = frame.root.substitutes.get(id(obj)) if obj is not None else None
        if substitute is not None:
            return Input(substitute, obj, rows)
        return self.run.input(obj, frame.location, rows)

    def _before(self, frame: EstimatorCall) -> None:
        run, estimator = self.run, frame.estimator
        if _is_composite(estimator):
            for step in estimator.get_params(deep=True).values():
                if _is_duck_estimator(step):
                    self.instrument_duck_class(type(step))
        if frame.parent is None:
            # Pending Series passed as X or y were computed before the call: their nodes come first.
            for argument in (frame.X, frame.y):
                run.input_node(argument, frame.location, untracked_as_source=False)
            if frame.method in FIT_METHODS and _is_model(estimator):
                self._substitute(frame, frame.X, T.TRAIN_DATA, "Train data")
                self._substitute(frame, frame.y, T.TRAIN_LABELS, "Train labels")
            elif frame.method in PREDICT_METHODS or frame.method == "score":
                self._substitute(frame, frame.X, T.TEST_DATA, "Test data")
                if frame.method == "score":
                    self._substitute(frame, frame.y, T.TEST_LABELS, "Test labels")
        elif _is_column_transformer(frame.parent.estimator) and run.tracked(frame.X) is None:
            # The ColumnTransformer handed this branch a column selection it made itself.
            composite = frame.parent
            columns = columns_of(frame.X) or ["?"]
            run.add_node(T.PROJECTION, composite.function, composite.location, f"Project: {column_list(columns)}",
                         columns, [self._input(composite, composite.X)], frame.X)

    def _substitute(self, frame: EstimatorCall, obj, operator_type: OperatorType, description: str) -> None:
        if obj is None:
            return
        source = self.run.input(obj, frame.location)
        columns = columns_of(obj)
        if not isinstance(obj, pd.DataFrame) and source.node is not None and len(source.node.columns) == len(columns):
            columns = list(source.node.columns)  # a matrix keeps the names its node gave its columns
        node = self.run.add_node(operator_type, frame.function, frame.location, description, columns, [source],
                                 constructed_at=self.constructed_at.get(frame.estimator))
        frame.substitutes[id(obj)] = node

    def _after(self, frame: EstimatorCall, result) -> None:
        run, estimator, method = self.run, frame.estimator, frame.method
        name = type(estimator).__name__
        node = None
        # A model's fit, predict and score point at the user's call (the pipeline's, for a step);
        # where the model was constructed is the node's ``constructed_at``.
        model_location, constructed_at = frame.root.location, self.constructed_at.get(estimator)
        if _is_composite(estimator):
            if _concatenates(estimator):
                output = result if method != "fit" else None
                branch_columns = [c for branch in frame.branch_outputs for c in branch.node.columns]
                # The fitted featuriser, held weakly: the artifact store keeps a copy to re-encode rectified rows.
                node = run.add_node(T.CONCATENATION, frame.function, frame.location, f"Concatenate {name} outputs",
                                    _feature_names(estimator, output, None, branch_columns),
                                    frame.branch_outputs, output, featuriser=weakref.ref(estimator))
        elif _is_passthrough(estimator, self.constructed_at):
            node = self._input(frame, frame.X).node
            run.set_producer(result, node)
        elif method in FIT_METHODS and _is_model(estimator):
            node = run.add_node(T.ESTIMATOR, frame.function, model_location, f"{name}: fit", [],
                                [self._input(frame, frame.X), self._input(frame, frame.y)], estimator,
                                constructed_at=constructed_at)
            if method != "fit":
                run.set_producer(result, node)
        elif method in ("fit", "fit_transform", "transform"):
            inputs = [self._input(frame, frame.X)]
            if method != "transform" and frame.y is not None and _learns_from_labels(estimator):
                # Supervised transformers (TargetEncoder, SelectKBest) learn from the labels' values.
                inputs.append(self._input(frame, frame.y, rows=None))
            if method == "fit":
                node = run.add_node(T.TRANSFORMER, frame.function, frame.location, f"{name}: fit", [],
                                    inputs, estimator, constructed_at=constructed_at)
            else:
                node = run.add_node(T.TRANSFORMER, frame.function, frame.location, f"{name}: {method}",
                                    _feature_names(estimator, result, inputs[0].node), inputs, result,
                                    constructed_at=constructed_at,
                                    **_column_sources(estimator, inputs[0].node, result))
        elif method in PREDICT_METHODS:
            node = run.add_node(T.PREDICT, frame.function, model_location, f"{name}: {method}",
                                _prediction_columns(estimator, method, result),
                                [self._input(frame, frame.X), _fitted_model(run, estimator)], result,
                                constructed_at=constructed_at)
        elif method == "score":
            node = run.add_node(T.SCORE, frame.function, model_location, f"{name}: score", ["score"],
                                [self._input(frame, frame.X), self._input(frame, frame.y),
                                 _fitted_model(run, estimator)], constructed_at=constructed_at)
        if frame.parent is not None and _concatenates(frame.parent.estimator):
            # The branch's output, e.g. the last step of a nested Pipeline, feeds the concatenation.
            output_node = run.input_node(result, frame.location, untracked_as_source=False) or node
            if output_node is not None:
                frame.parent.branch_outputs.append(Input(output_node, result))


# -- cross-validation -------------------------------------------------------------------------------

def function_info_of(original) -> FunctionInfo:
    return FunctionInfo(getattr(original, "__module__", "sklearn.model_selection"), original.__name__)


class Folds:
    """The folds of one cross-validation call; its fits and scores are root calls at the user's line.

    sklearn fits and scores the folds in order when it runs them in this process
    (``n_jobs`` None or 1): the k-th fit belongs to fold k, and a predict or score after
    it reads fold k's test rows (or its train rows, for ``return_train_score``).
    """

    def __init__(self, backend: "SklearnBackend", name: str, estimator, X, y, splits, location: CodeLocation):
        self.backend = backend
        self.name = name
        self.estimator_type = type(estimator)
        self.X, self.y = X, y
        self.splits = splits
        self.location = location
        self.fitted = 0
        self.train_objects: Dict[int, Any] = {}
        self.models: List[Any] = []

    @classmethod
    def prepare(cls, backend: "SklearnBackend", name: str, arguments: dict, location: CodeLocation
                ) -> Optional["Folds"]:
        from sklearn.base import is_classifier
        from sklearn.model_selection import check_cv
        from sklearn.utils import indexable

        if arguments.get("n_jobs") not in (None, 1):
            return None
        estimator, X, y = arguments["estimator"], arguments["X"], arguments.get("y")
        X_checked, y_checked = indexable(X, y)
        cv = check_cv(arguments.get("cv"), y_checked, classifier=is_classifier(estimator))
        splits = list(cv.split(X_checked, y_checked, arguments.get("groups")))
        run = backend.run
        for argument in (X, y):  # their nodes come before the folds'
            run.input_node(argument, location)
        return cls(backend, name, estimator, X, y, splits, location)

    def owns(self, estimator) -> bool:
        return type(estimator) is self.estimator_type

    def split_for(self, frame: "EstimatorCall") -> None:
        """Before a fold's call: its X (and y) become the fold's train or test split of the user's data."""
        run = self.backend.run
        if frame.method in FIT_METHODS:
            self.fitted += 1
            self.train_objects = {id(frame.X): frame.X}
            self.models.append(frame.estimator)
            part = "train"
        else:
            part = "train" if id(frame.X) in self.train_objects else "test"
        if not self.fitted:
            return
        fold = self.fitted - 1
        rows = self.splits[fold][0 if part == "train" else 1]
        for data, fold_data, what in ((self.X, frame.X, ""), (self.y, frame.y, " of labels")):
            if data is None or fold_data is None or run.tracked(fold_data) is not None:
                continue
            parent = run.input_node(data, self.location)
            run.add_node(T.TRAIN_TEST_SPLIT, function_info_of_name(self.name), self.location,
                         f"Fold {fold + 1}/{len(self.splits)}: {part} rows{what}", columns_of(fold_data),
                         [Input(parent, data, Positions(rows))], fold_data)

    def finish(self, result) -> None:
        if self.name != "cross_val_predict":
            return
        run = self.backend.run
        models = [_fitted_model(run, model) for model in self.models]
        run.add_node(T.PREDICT, function_info_of_name(self.name), self.location,
                     f"{self.estimator_type.__name__}: cross_val_predict over {len(self.splits)} folds",
                     ["predict"], [run.input(self.X, self.location), *models], result)


def function_info_of_name(name: str) -> FunctionInfo:
    return FunctionInfo("sklearn.model_selection._validation", name)


# -- what kind of estimator -------------------------------------------------------------------------

def _parameters(estimator) -> dict:
    get_params = getattr(estimator, "get_params", None)
    if get_params is not None:
        return get_params(deep=False)
    return {key: value for key, value in vars(estimator).items() if not key.endswith("_")}


def _learns_from_labels(estimator) -> bool:
    """Transformers whose output depends on the labels: target encoders, supervised feature selection."""
    from sklearn.feature_selection import SelectFromModel
    from sklearn.feature_selection._univariate_selection import _BaseFilter

    try:
        required = estimator.__sklearn_tags__().target_tags.required
    except Exception:  # duck-typed transformers have no tags
        required = False
    return required or isinstance(estimator, (_BaseFilter, SelectFromModel))


def _is_duck_estimator(obj) -> bool:
    """An object with scikit-learn's fit/predict (or fit/transform) API that is not a BaseEstimator."""
    from sklearn.base import BaseEstimator

    cls = type(obj)
    if isinstance(obj, (type, BaseEstimator)) or cls.__module__.startswith(("sklearn.", "pandas.", "numpy.",
                                                                            "statsmodels.", "builtins")):
        return False
    return callable(getattr(obj, "fit", None)) and (
        callable(getattr(obj, "predict", None)) or callable(getattr(obj, "transform", None)))


def _is_column_transformer(estimator) -> bool:
    from sklearn.compose import ColumnTransformer

    return isinstance(estimator, ColumnTransformer)


def _concatenates(estimator) -> bool:
    from sklearn.pipeline import FeatureUnion

    return _is_column_transformer(estimator) or isinstance(estimator, FeatureUnion)


def _is_search(estimator) -> bool:
    from sklearn.model_selection._search import BaseSearchCV

    return isinstance(estimator, BaseSearchCV)


def _is_composite(estimator) -> bool:
    from sklearn.pipeline import Pipeline

    return isinstance(estimator, Pipeline) or _concatenates(estimator) or _is_search(estimator)


def _expands(parent: EstimatorCall, estimator) -> bool:
    """Whether a call made by ``parent``'s estimator on ``estimator`` is one of its steps."""
    composite = parent.estimator
    if _is_search(composite):
        return estimator is getattr(composite, "best_estimator_", None)
    return _is_composite(composite)


def _is_passthrough(estimator, constructed_at: ObjectTable) -> bool:
    # ColumnTransformer turns 'passthrough' and remainder columns into a FunctionTransformer it makes itself.
    from sklearn.preprocessing import FunctionTransformer

    return (isinstance(estimator, FunctionTransformer) and estimator.func is None
            and constructed_at.get(estimator) is None)


def _fitted_model(run: InstrumentedRun, estimator) -> Input:
    """The fitted model as an input of predict/score: it contributes no rows."""
    tracked = run.tracked(estimator)
    return Input(tracked.node if tracked is not None else None, estimator, rows=None)


# -- column names -----------------------------------------------------------------------------------

def _feature_names(estimator, output, input_node: Optional[DagNode], fallback: Optional[List] = None) -> List:
    if isinstance(output, pd.DataFrame):
        return list(output.columns)
    width = output.shape[1] if len(getattr(output, "shape", ())) == 2 else None
    input_features = list(input_node.columns) if input_node is not None else None
    matching = input_features if input_features is not None and len(input_features) == getattr(
        estimator, "n_features_in_", -1) else None
    try:
        names = list(estimator.get_feature_names_out(matching))
    except Exception:  # estimators without, or unable to give, feature names
        names = []
    if names and (width is None or len(names) == width):
        return names
    if fallback and (width is None or len(fallback) == width):
        return fallback
    # Named after the input (``title_hashingvectorizer0``), so that branches stay distinct.
    prefix = "_".join(str(c) for c in input_features[:2]) + "_" if input_features else ""
    return [f"{prefix}{type(estimator).__name__.lower()}{i}" for i in range(width)] if width else columns_of(output)


def _column_sources(estimator, input_node: Optional[DagNode], result) -> dict:
    """``column_sources`` for transformers whose output columns are known input columns (or all of them)."""
    if input_node is None or len(getattr(result, "shape", ())) != 2:
        return {}
    width, parent = result.shape[1], input_node.node_id
    n_in = getattr(estimator, "n_features_in_", None)
    if n_in is None:
        return {}
    if hasattr(estimator, "get_support"):  # feature selection keeps some input columns
        kept = estimator.get_support(indices=True)
        if len(kept) == width:
            return {"column_sources": tuple(((parent, int(k)),) for k in kept)}
    powers = getattr(estimator, "powers_", None)
    if powers is not None and powers.shape == (width, n_in):  # a polynomial term reads the inputs it raises
        return {"column_sources": tuple(tuple((parent, int(k)) for k in np.flatnonzero(row)) for row in powers)}
    if hasattr(estimator, "components_"):  # PCA, TruncatedSVD: every component mixes every input
        every = tuple((parent, k) for k in range(n_in))
        return {"column_sources": tuple(every for _ in range(width))}
    return {}


def _prediction_columns(estimator, method: str, result) -> List:
    classes = getattr(estimator, "classes_", None)
    if method != "predict" and classes is not None and len(getattr(result, "shape", ())) == 2:
        return [f"{method}_{c}" for c in classes]
    return [method]


# -- functions ----------------------------------------------------------------------------------------

def train_test_split(call: OperatorCall, result) -> None:
    arrays = call.args
    positions = call.extra or (None, None)
    for index, array in enumerate(arrays):
        parent = call.run.input_node(array, call.location)
        suffix = f" of argument {index + 1}" if len(arrays) > 1 else ""
        for part, output, rows in (("train", result[2 * index], positions[0]),
                                   ("test", result[2 * index + 1], positions[1])):
            # Unprepared: a run tracking no rows skipped it (no cut), or preparing failed.
            mapping = Positions(rows) if rows is not None else NOT_COMPUTED if not call.run.tracks_rows else Unknown(
                "the split was not prepared")
            call.run.add_node(T.TRAIN_TEST_SPLIT, call.function, call.location, f"Split: {part} rows{suffix}",
                              columns_of(output), [Input(parent, array, mapping)], output)


def _split_with_positions(call: OperatorCall):
    """A ``prepare`` step: split ``arange(n)`` along with the user's arrays; it comes out as positions.

    The split draws one permutation for all arrays, so the user's outputs are unchanged.
    """
    if not call.args:
        return call.args, call.kwargs, lambda result: (result, None)
    from sklearn.utils.validation import _num_samples

    rows = np.arange(_num_samples(call.args[0]))
    return (*call.args, rows), call.kwargs, lambda result: (result[:-2], (result[-2], result[-1]))


train_test_split.prepare = _split_with_positions


def label_binarize(call: OperatorCall, result) -> None:
    classes = call.arg(1, "classes")
    call.run.add_node(T.PROJECTION_MODIFY, call.function, call.location,
                      f"Binarize labels: classes {short_repr(list(classes))}", columns_of(result),
                      [call.run.input(call.arg(0, "y"), call.location)], result)
