"""Spark ML: ``fit``, ``transform`` and ``evaluate`` of estimators, transformers, pipelines and evaluators.

A ``Pipeline`` calls its stages itself; its ``fit`` and its model's ``transform`` are
expanded into one node per stage, like scikit-learn's pipelines. A predictor's fit
becomes train data, the features it reads (a projection of the columns the feature
vector was assembled from, traced back through the stages), train labels and the
estimator; a prediction model's transform becomes test data and a prediction.
"""
from __future__ import annotations

from typing import List

from lester_inspect.instrumentation.dag import OperatorType
from lester_inspect.instrumentation.rows import Input
from lester_inspect.instrumentation.run import OperatorCall
from lester_inspect.instrumentation.tracking import Tracked
from lester_inspect.spark.backend import Operator, SparkBackend, _finish

T = OperatorType


class SparkMlBackend:
    """Spark ML's stages, patched once the pipeline imports pyspark.ml (``BACKENDS``).

    Its nodes are made by the run's ``SparkBackend`` (installed with pyspark itself,
    which pyspark.ml imports first): DataFrames and ML stages share one table of shadows.
    """

    def __init__(self, run):
        self.run = run

    def install(self, patches) -> None:
        from pyspark.ml.base import Estimator, Transformer
        from pyspark.ml.evaluation import Evaluator

        backend = next(b for b in self.run.backends if isinstance(b, SparkBackend))
        backend.column_origins = {}
        backend.patch(Estimator, "fit", Operator(_record_fit))
        backend.patch(Transformer, "transform", Operator(_record_transform, _shadow_transform))
        backend.patch(Evaluator, "evaluate", Operator(_record_evaluate))


def _shadow_transform(backend: SparkBackend, original, args, kwargs):
    shadow = backend.shadow_of(args[1] if len(args) > 1 else kwargs["dataset"])
    rest = {k: v for k, v in kwargs.items() if k != "dataset"}

    def build(frame):
        return original(args[0], frame, *args[2:], **rest)

    return _finish(backend, _mapped(args[0], shadow, build), False)


def _mapped(stage, shadow, build):
    """``build(shadow.frame)``: marked as a row-wise map of ``shadow`` if ``stage`` is one.

    Spark ML's stages compute each row's values from the row alone; some mark their UDFs
    nondeterministic only to keep the optimizer from moving them.
    """
    out = shadow.derive(build(shadow.frame))
    return out.mapped(shadow, build, known=True) if _row_wise(stage) else out


def _row_wise(stage) -> bool:
    """Whether ``stage.transform`` only adds columns to each row (keeps every row, in order).

    Known of Spark ML's own stages, unless set to drop rows (``handleInvalid='skip'``,
    ``coldStartStrategy='drop'``); ``SQLTransformer`` runs any query, and a user's own stage
    may do anything.
    """
    from pyspark.ml import PipelineModel
    from pyspark.ml.feature import SQLTransformer

    if isinstance(stage, PipelineModel):
        return all(_row_wise(s) for s in stage.stages)
    if not type(stage).__module__.startswith("pyspark.ml.") or isinstance(stage, SQLTransformer):
        return False
    return _param(stage, "handleInvalid") != "skip" and _param(stage, "coldStartStrategy") != "drop"


def _param(stage, name: str):
    return stage.getOrDefault(name) if stage.hasParam(name) and stage.isDefined(name) else None


def _columns(stage, kind: str) -> List[str]:
    one, many = _param(stage, f"{kind}Col"), _param(stage, f"{kind}Cols")
    return list(many) if many else ([one] if one else [])


def _learn_columns(backend: SparkBackend, stage) -> None:
    inputs, outputs = _columns(stage, "input"), _columns(stage, "output")
    if len(outputs) == len(inputs):
        for output, source in zip(outputs, inputs):
            backend.column_origins[output] = [source]
    else:
        for output in outputs:
            backend.column_origins[output] = inputs


def origins(backend: SparkBackend, column: str, seen=None) -> List[str]:
    """The columns ``column`` was computed from by ML stages (itself, if no stage made it)."""
    seen = seen or set()
    sources = backend.column_origins.get(column)
    if not sources or column in seen:
        return [column]
    seen.add(column)
    found: List[str] = []
    for source in sources:
        for origin in origins(backend, source, seen):
            if origin not in found:
                found.append(origin)
    return found


def _is_predictor(stage) -> bool:
    from pyspark.ml.base import PredictionModel, Predictor

    return isinstance(stage, (Predictor, PredictionModel))


def _name(stage) -> str:
    return type(stage).__name__


def _stage_transform(backend: SparkBackend, stage, frame):
    """``stage`` applied to a user DataFrame (and to its shadow when rows are tracked): the stage's output."""
    shadow = backend.shadows.get(frame) if backend.run.tracks_rows else None
    if shadow is None:
        return stage.transform(frame)
    user, outputs = _finish(backend, _mapped(stage, shadow, stage.transform), False)
    backend.shadows.set(user, outputs[0][1])
    return user


def _record_fit(backend: SparkBackend, call: OperatorCall, model) -> None:
    from pyspark.ml import Pipeline

    estimator, frame = call.args[0], call.arg(1, "dataset")
    if isinstance(estimator, Pipeline):
        current = frame
        for stage, fitted in zip(estimator.getStages(), model.stages):
            _learn_columns(backend, stage)
            if _is_predictor(stage):
                _training(backend, call, stage, current, fitted)
                continue
            output = _stage_transform(backend, fitted, current)
            backend.node(call, T.TRANSFORMER, f"{_name(stage)}: fit_transform{_in_out(stage)}", output, [current])
            current = output
        node = backend.run.tracked(model.stages[-1]) if model.stages else None
        if node is not None:
            backend.run.objects.set(model, Tracked(node=node.node))
    elif _is_predictor(estimator):
        _learn_columns(backend, estimator)
        _training(backend, call, estimator, frame, model)
    else:
        _learn_columns(backend, estimator)
        node = backend.node(call, T.TRANSFORMER, f"{_name(estimator)}: fit{_in_out(estimator)}", None, [frame])
        backend.run.set_producer(model, node)


def _in_out(stage) -> str:
    inputs, outputs = _columns(stage, "input"), _columns(stage, "output")
    if not inputs and not outputs:
        return ""
    return f" ({', '.join(inputs)} -> {', '.join(outputs)})"


def _training(backend: SparkBackend, call: OperatorCall, estimator, frame, model) -> None:
    run = backend.run
    features, label = _param(estimator, "featuresCol"), _param(estimator, "labelCol")
    train = backend.node(call, T.TRAIN_DATA, "Train data", None, [frame], columns=[features])
    used = origins(backend, features)
    projection = run.add_node(T.PROJECTION, call.function, call.location,
                              f"Features of {_name(estimator)}: {', '.join(used)} (assembled into {features!r})",
                              used, [Input(train, frame)])
    labels = backend.node(call, T.TRAIN_LABELS, "Train labels", None, [frame], columns=[label])
    node = run.add_node(T.ESTIMATOR, call.function, call.location, f"{_name(estimator)}: fit", [],
                        [Input(projection, frame), Input(labels, frame)], model)
    run.set_producer(model, node)


def _record_transform(backend: SparkBackend, call: OperatorCall, result) -> None:
    from pyspark.ml import PipelineModel

    model, frame = call.args[0], call.arg(1, "dataset")
    if isinstance(model, PipelineModel):
        current = frame
        for index, stage in enumerate(model.stages):
            last = index == len(model.stages) - 1
            _learn_columns(backend, stage)
            output = result if last else _stage_transform(backend, stage, current)
            _apply(backend, call, stage, current, output, model)
            current = output
    else:
        _learn_columns(backend, model)
        _apply(backend, call, model, frame, result, model)


def _apply(backend: SparkBackend, call: OperatorCall, stage, frame, output, owner) -> None:
    run = backend.run
    if not _is_predictor(stage):
        backend.node(call, T.TRANSFORMER, f"{_name(stage)}: transform{_in_out(stage)}", output, [frame])
        return
    test = backend.node(call, T.TEST_DATA, "Test data", None, [frame],
                        columns=[_param(stage, "featuresCol")])
    fitted = run.tracked(owner) or run.tracked(stage)
    inputs = [Input(test, frame, backend.mapping(output)),
              Input(fitted.node if fitted is not None else None, stage, rows=None)]
    backend._add(T.PREDICT, call.function, call.location, f"{_name(stage)}: transform (predict)", output,
                 inputs, carrier=test)


def _record_evaluate(backend: SparkBackend, call: OperatorCall, result) -> None:
    evaluator, frame = call.args[0], call.arg(1, "dataset")
    metric = _param(evaluator, "metricName")
    backend.node(call, T.SCORE, f"{_name(evaluator)}: {metric}" if metric else f"{_name(evaluator)}: evaluate",
                 None, [frame], columns=["score"])

