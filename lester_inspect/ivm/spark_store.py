"""Capture and forget for Spark runs: artifacts as Parquet written by Spark, changed later without Spark.

A Spark run's group (``train``, ``test``) keeps, under ``runs/<run_id>/<group>/spark/``::

    data/lester_bucket=B/part-*.parquet  the rows: the prepared data's plain columns, the feature vector, the
                                         label (and the predictions), and per source ``__lester_row_<source>``,
                                         the source row each row was made from. Bucket B holds the rows made
                                         from rows B*BUCKET_ROWS.. of the first source (one file per bucket).
    index/<column>/part-*.parquet        ``(row, file)`` sorted by row: the data files holding each source row,
                                         so that ``forget`` opens only the row groups and files it needs.

and ``runs/<run_id>/spark_model/...`` is the Spark ML model as Spark saves it, with ``spark_model.json``
naming it, its parameters (logistic regression) and the forget requests applied to it.

Everything is written uncompressed (``audit`` searches bytes). ``forget`` needs no Spark for a
logistic regression: it reads the affected files with pyarrow, updates the coefficients by the
first-order update of ``unlearning.py`` and rewrites each affected file atomically (a temporary
file, then a rename; Spark's checksum file of it is removed first). A killed ``forget`` leaves
every file old or new; run again, it completes: the model's update is recorded with it, and a
rewritten file holds no row to remove. Other models are fitted again with Spark (a local session
unless one is active) on the stored corrected vectors.

Not supported yet, and refused in words: feature deletion (a column) and rectify on Spark runs.
"""
from __future__ import annotations

import os
import shutil
import time
from typing import Dict, List, Optional

import numpy as np

from lester_inspect.inspections.annotations import LINEAGE
from lester_inspect.instrumentation.dag import OperatorType
from lester_inspect.ivm.files import _sync_folder, crash_point, locked, read_json, write_json

T = OperatorType
ROW = "__lester_row_"
BUCKET = "lester_bucket"
BUCKET_ROWS = 20_000
MODEL_STATE = "spark_model.json"


def is_spark(manifest: Dict) -> bool:
    return any(info.get("engine") == "spark" for info in manifest["groups"].values())


# -- capture (called by ArtifactCapture for operators whose data Spark keeps) ---------------------------

def inspect(capture, operator, state) -> Optional[str]:
    from lester_inspect.inspections.capture import _model_node

    node = operator.node
    if node.operator_type is T.DATA_SOURCE:
        from lester_inspect.spark.columns import UnknownPlan, columns_of

        state["sources"][node.node_id] = operator.dag.nodes[node].get("source_path")
        state["source_columns"][node.node_id] = [str(c) for c in operator.data.columns]
        try:
            state.setdefault("spark_columns", {})[node.node_id] = columns_of(operator.data)
        except UnknownPlan:  # a column computed from it then counts every column of every source as used
            pass
    elif node.operator_type is T.ESTIMATOR:
        state["model_node"] = node
        _save_group(capture, operator, state, "train", operator.inputs[0].data, operator.output)
        return state["run_id"]
    elif node.operator_type is T.PREDICT and _model_node(operator) is state.get("model_node"):
        model = next(i.data for i in operator.inputs if i.node is state["model_node"])
        _save_group(capture, operator, state, "test", operator.output, model)
    return None


def _param(stage, name: str):
    return stage.getOrDefault(name) if stage.hasParam(name) and stage.isDefined(name) else None


def _stored_columns(frame, model, group: str) -> Dict[str, Optional[str]]:
    """Which columns are stored: plain-typed ones (the prepared data), the feature vector, the label."""
    from pyspark.sql.types import AtomicType

    roles = {"features": _param(model, "featuresCol"), "label": _param(model, "labelCol"),
             "prediction": _param(model, "predictionCol") if group == "test" else None}
    present = {field.name: field.dataType for field in frame.schema.fields}
    roles = {role: column if column in present else None for role, column in roles.items()}
    # Intermediate stage outputs (token arrays, partial vectors) are not stored: not prepared data, not the input.
    roles["columns"] = [name for name, kind in present.items()
                        if isinstance(kind, AtomicType) or name == roles["features"]]
    return roles


def _save_group(capture, operator, state, group: str, frame, model) -> None:
    # Spark's writes under the store's lock, with the manifest and catalog: a concurrent capture or
    # forget never sees (or cleans up) a group half written.
    with locked(os.path.abspath(capture.store)):
        _write_group(capture, operator, state, group, frame, model)


def _write_group(capture, operator, state, group: str, frame, model) -> None:
    from pyspark.sql import functions as F

    from lester_inspect.inspections.capture import _artifact_cuts
    from lester_inspect.ivm.store import ArtifactStore
    from lester_inspect.spark.shadow import GroupFactor, IdFactor, ref

    store = os.path.abspath(capture.store)
    run_folder = os.path.join(store, "runs", state["run_id"])
    folder = os.path.join(run_folder, group, "spark")
    names = operator.source_names
    roles = _stored_columns(frame, model, group)
    lineage = (operator.annotations_of(frame) or {}).get(LINEAGE)
    shadow = getattr(lineage, "shadow", None)
    row_columns: Dict[str, str] = {}
    aggregated: set = set()
    if shadow is not None:
        for factor in shadow.factors:
            if isinstance(factor, IdFactor) and names[factor.source] not in row_columns:
                row_columns[names[factor.source]] = ROW + names[factor.source]
                shadow = lineage.context.position_column(shadow, factor, row_columns[names[factor.source]])
            elif isinstance(factor, GroupFactor):
                aggregated |= {names[f.source] for f in factor.members.factors if isinstance(f, IdFactor)}
        data = shadow.frame.select(*[ref(c) for c in roles["columns"]], *[ref(c) for c in row_columns.values()])
    else:
        data = frame.select(*[ref(c) for c in roles["columns"]])
    first = next(iter(row_columns.values()), None)
    bucket = F.coalesce(F.floor(ref(first) / BUCKET_ROWS), F.lit(-1)) if first else F.lit(0)
    data_path = os.path.join(folder, "data")
    (data.withColumn(BUCKET, bucket.cast("long")).repartition(BUCKET).write.mode("overwrite")
     .option("compression", "none").partitionBy(BUCKET).parquet(data_path))
    written = frame.sparkSession.read.parquet(data_path)
    rows = written.count()
    path_parts = F.split(F.input_file_name(), "/")
    file = F.concat_ws("/", F.element_at(path_parts, -2), F.element_at(path_parts, -1))
    for column in row_columns.values():
        (written.where(ref(column).isNotNull()).select(ref(column).alias("row"), file.alias("file"))
         .repartitionByRange(max(1, min(8, rows // (4 * BUCKET_ROWS))), "row").sortWithinPartitions("row")
         .write.mode("overwrite").option("compression", "none").parquet(os.path.join(folder, "index", column)))
    extra = {}
    if group == "train":
        extra["model_class"] = type(model).__name__
        _save_model(run_folder, model, rows)
    cuts = _artifact_cuts(operator, {"X": operator.inputs[0].node})
    if not row_columns:
        cuts.append({"artifact": "X", "reason": "Spark: the rows' source row ids were not carried "
                     f"({getattr(shadow, 'unknown', None) or 'no row lineage reached this operator'})",
                     "call": f"{operator.node.function.module}.{operator.node.function.name}",
                     "location": str(operator.node.code_location), "node_id": operator.node.node_id, "sources": None})
    used, unknown = _used_columns(frame, roles["columns"], state, names)
    sources = []
    for node_id, path in state["sources"].items():
        if path is None or not os.path.isfile(path):
            continue
        name = names[node_id]
        columns = state["source_columns"].get(node_id)
        sources.append({"name": name, "path": path, "rows": operator.source_sizes[node_id],
                        "columns_used": sorted(columns or [] if used is None else used.get(name, ())),
                        "columns": columns,
                        "provenance_cut": any(c["sources"] is None or name in c["sources"] for c in cuts)})
    pipeline = operator.dag.graph.get("pipeline", "")
    ArtifactStore(capture.store).save(
        state["run_id"], capture.name or os.path.splitext(os.path.basename(pipeline))[0] or "pipeline", pipeline,
        group, {"lineage": {}}, sources,
        {"engine": "spark", "spark": {**roles, "row_columns": row_columns, "rows": rows,
                                      **({"columns_used_unknown": unknown} if unknown else {})},
         "column_provenance": {}, "matrix_provenance": {}, "aggregated_sources": sorted(aggregated),
         "provenance_cuts": cuts, **extra})


def _used_columns(frame, stored: List[str], state, names):
    """({source: its columns the stored columns are computed from}, None), read from Spark's plan; or
    (None, why) when the plan cannot be followed: then every column of every source counts as used."""
    from lester_inspect.spark.columns import UnknownPlan, used_source_columns

    recorded = {names[node_id]: columns for node_id, columns in state.get("spark_columns", {}).items()}
    try:
        return used_source_columns(frame, stored, recorded), None
    except UnknownPlan as error:
        return None, f"every source column counts as used: the Spark plan holds {error}"


def _save_model(run_folder: str, model, rows: int) -> None:
    model.write().overwrite().save(os.path.join(run_folder, "spark_model"))
    state = {"class": type(model).__name__, "path": "spark_model", "rows": rows, "applied": [], "updates": []}
    reason = _no_first_order_update(model)
    if reason is None:
        state.update(coefficients=model.coefficients.toArray().tolist(), intercept=float(model.intercept),
                     reg_param=float(model.getRegParam()), fit_intercept=bool(model.getFitIntercept()))
    else:
        state["refit_because"] = reason
        state["estimator"] = _estimator_name(type(model).__name__)
        state["params"] = {param.name: value for param, value in model.extractParamMap().items()
                           if isinstance(value, (int, float, str, bool))}
    write_json(os.path.join(run_folder, MODEL_STATE), state)


def _estimator_name(model_name: str) -> Optional[str]:
    """The Spark ML estimator class that fits a model class (``RandomForestClassificationModel``:
    ``RandomForestClassifier``), None if none is found."""
    import pyspark.ml.classification
    import pyspark.ml.regression

    candidates = (model_name.replace("ClassificationModel", "Classifier"),
                  model_name.replace("RegressionModel", "Regressor"), model_name[:-len("Model")])
    return next((name for name in candidates if name != model_name and any(
        hasattr(module, name) for module in (pyspark.ml.classification, pyspark.ml.regression))), None)


def _no_first_order_update(model) -> Optional[str]:
    """Why the first-order update does not apply to this Spark model (None: it does)."""
    if type(model).__name__ != "LogisticRegressionModel":
        return f"{type(model).__name__} has no first-order update"
    if model.numClasses != 2:
        return "multinomial LogisticRegression has no first-order update here"
    if float(model.getElasticNetParam()) != 0.0 and float(model.getRegParam()) != 0.0:
        return "LogisticRegression with an L1 penalty (elasticNetParam > 0) is not differentiable"
    return None


# -- affected ---------------------------------------------------------------------------------------------

def _wanted(info: Dict, row_sources: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """{stored row column: source rows} for the sources this group has rows of."""
    columns = info["spark"]["row_columns"]
    return {columns[s]: np.asarray(p, dtype=np.int64) for s, p in row_sources.items() if s in columns}


def _index_hits(group_folder: str, wanted: Dict[str, np.ndarray]):
    """The (row, file) entries of the index for the wanted source rows (only matching row groups are read)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    found = []
    for column, positions in wanted.items():
        index = ds.dataset(os.path.join(group_folder, "spark", "index", column), format="parquet")
        found.append(index.to_table(columns=["file"], filter=ds.field("row").isin(pa.array(positions))))
    return found


def held_rows(folder: str, manifest: Dict, row_sources: Dict[str, np.ndarray]) -> Dict[str, int]:
    """Per group, how many stored rows were made from these source rows (as captured)."""
    held = {}
    for group, info in manifest["groups"].items():
        hits = _index_hits(os.path.join(folder, group), _wanted(info, row_sources))
        held[group] = max((len(hit) for hit in hits), default=0)
    return held


def load_group(group_folder: str):
    """A Spark group's stored rows as a pyarrow table (the bucket column included)."""
    import pyarrow.dataset as ds

    return ds.dataset(os.path.join(group_folder, "spark", "data"), format="parquet", partitioning="hive").to_table()


# -- forget ---------------------------------------------------------------------------------------------

def forget_in_run(run_id: str, folder: str, manifest: Dict, request: str, row_sources: Dict[str, np.ndarray],
                  column, tau: Optional[float], timings: Dict[str, float]):
    """Instance deletion in a Spark run: remove the rows made from ``row_sources`` from every stored file."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from lester_inspect.ivm.store import ModelUpdateError, RunChange

    if column is not None:
        return RunChange(run_id, {}, {}, None, [], status="failed", problem=(
            f"run {run_id}: feature deletion (a column) is not supported on Spark runs yet; nothing was changed in "
            "this run (forget the rows without a column to remove them)"))
    step = time.perf_counter()
    affected: Dict[str, Dict[str, tuple]] = {}
    for group, info in manifest["groups"].items():
        group_folder = os.path.join(folder, group)
        wanted = _wanted(info, row_sources)
        files = sorted({f for hit in _index_hits(group_folder, wanted) for f in hit.column("file").to_pylist()})
        affected[group] = {}
        for name in files:
            path = os.path.join(group_folder, "spark", "data", name)
            table = pq.read_table(path)
            hit = None
            for column_name, positions in wanted.items():
                matched = pc.fill_null(pc.is_in(table[column_name], value_set=pa.array(positions)), False)
                hit = matched if hit is None else pc.or_(hit, matched)
            count = pc.sum(hit).as_py() or 0
            if count:
                affected[group][path] = (table, hit, count)
    timings[f"{run_id}: provenance lookup"] = time.perf_counter() - step
    rows = {group: sum(count for _, _, count in files.values()) for group, files in affected.items()}
    notes = [f"{group}: aggregates over {', '.join(info['aggregated_sources'])} are not maintained on Spark runs; "
             "values computed from the removed data by a group-by stay as they were"
             for group, info in manifest["groups"].items() if info.get("aggregated_sources")]
    model_state = read_json(os.path.join(folder, MODEL_STATE)) if os.path.exists(os.path.join(folder,
                                                                                               MODEL_STATE)) else None
    pending = model_state is not None and model_state.get("pending") == request
    if not any(rows.values()) and not pending:
        mapped = {s for info in manifest["groups"].values() for s in info["spark"]["row_columns"]}
        unmapped = sorted(set(row_sources) - mapped)
        if unmapped:
            return RunChange(run_id, {}, {}, None, notes, status="failed", problem=(
                f"run {run_id}: its artifacts have no row provenance for {', '.join(unmapped)} (reached only "
                "through aggregates, or not at all); nothing could be changed"))
        return RunChange(run_id, {g: 0 for g in manifest["groups"]}, {}, None, notes, status="holds none")

    step = time.perf_counter()
    summary = None
    if model_state is not None and affected.get("train"):
        info = manifest["groups"]["train"]["spark"]
        try:
            summary = _update_model(folder, model_state, request, affected["train"], info, tau)
        except Exception as error:  # nothing is written before the model's state: the run is unchanged
            return RunChange(run_id, {}, {}, None, notes, status="failed",
                             problem=f"run {run_id}: updating the Spark model failed ({error!r}); nothing was changed")
    timings[f"{run_id}: model update"] = time.perf_counter() - step
    crash_point("after_model")

    step = time.perf_counter()
    cells = {}
    for group, files in affected.items():
        width = len(manifest["groups"][group]["spark"]["columns"])
        for path, (table, hit, count) in files.items():
            _replace_parquet(path, table.filter(pc.invert(hit)))
        cells[f"{group}/data"] = rows[group] * width
        crash_point(f"after_{group}")
    timings[f"{run_id}: artifacts"] = time.perf_counter() - step
    if model_state is not None and model_state.get("pending") == request:
        step = time.perf_counter()
        try:
            summary = _refit(folder, model_state, request)
        except ModelUpdateError as error:
            return RunChange(run_id, rows, cells, None, notes, status="failed", problem=str(error))
        timings[f"{run_id}: model refit"] = time.perf_counter() - step
    if summary and "skipped" not in summary and "test" in manifest["groups"]:
        notes.append("test: the stored predictions are the captured model's; predict with the updated model "
                     "(spark_model/) for current ones")
    resumed = bool(summary and "skipped" in summary) or pending
    return RunChange(run_id, rows, cells, summary, notes, status="resumed" if resumed else "changed")


def rectify_refused(run_id: str):
    """rectify is not built for Spark runs: what it would need, in words (the run stays unchanged)."""
    from lester_inspect.ivm.store import RunChange

    return RunChange(run_id, {}, {}, None, [], status="failed", problem=(
        f"run {run_id}: rectify is not supported on Spark runs: it would have to compute again the stored columns "
        "made from the corrected one (Spark expressions, which are not stored) and the feature vectors (the "
        "capture stores the Spark ML model, not the fitted feature stages); nothing was changed in this run "
        "(forget the rows instead)"))


def _replace_parquet(path: str, table) -> None:
    """Write ``table`` over the Parquet file at ``path`` atomically (never a half-written file)."""
    import pyarrow.parquet as pq

    folder, name = os.path.split(path)
    # Hidden and ending in .tmp: Spark does not read it, and the store's cleanup removes a killed writer's.
    temporary = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
    pq.write_table(table, temporary, compression="none")
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    checksum = os.path.join(folder, f".{name}.crc")
    if os.path.exists(checksum):  # Spark's checksum of the old content would fail the new one's reads
        os.remove(checksum)
    os.replace(temporary, path)
    _sync_folder(folder)


def _vectors(structs: List[Dict], size: int) -> np.ndarray:
    """Spark ML vectors as stored in Parquet (type 0 sparse, 1 dense) as a dense matrix."""
    matrix = np.zeros((len(structs), size))
    for row, vector in enumerate(structs):
        if vector["type"] == 1:
            matrix[row] = vector["values"]
        else:
            matrix[row, vector["indices"]] = vector["values"]
    return matrix


def _update_model(folder: str, state: Dict, request: str, files: Dict, info: Dict, tau: Optional[float]):
    """The first-order update of a logistic regression for the removed rows, or a refit marked as pending."""
    if request in state["applied"]:
        _write_coefficients(folder, state)  # completes a write a crash may have cut short
        return {"skipped": "already applied"}
    if "coefficients" not in state:
        state["pending"] = request  # fitted again once the files are rewritten (``_refit``)
        write_json(os.path.join(folder, MODEL_STATE), state)
        return None
    from sklearn.linear_model import LogisticRegression

    from lester_inspect.ivm.unlearning import update_model

    removed = [table.filter(hit) for table, hit, _ in files.values()]
    features = [v for part in removed for v in part.column(info["features"]).to_pylist()]
    labels = np.concatenate([part.column(info["label"]).to_numpy(zero_copy_only=False) for part in removed])
    coefficients = np.asarray(state["coefficients"], dtype=np.float64)
    X = _vectors(features, len(coefficients))
    # Spark minimises mean logloss + reg/2 ||w||^2, scikit-learn C * sum logloss + ||w||^2 / 2: C = 1 / (reg n).
    # (Spark's standardisation scales the penalty per feature; the first-order step ignores that.)
    n_train = state["rows"]
    proxy = LogisticRegression(C=1.0 / (state["reg_param"] * n_train) if state["reg_param"] > 0 else np.inf,
                               fit_intercept=state["fit_intercept"])
    proxy.coef_, proxy.classes_ = coefficients[None, :].copy(), np.array([0.0, 1.0])
    proxy.intercept_ = np.array([state["intercept"] if state["fit_intercept"] else 0.0])
    update = update_model(proxy, X, None, labels.astype(np.float64), removed=np.ones(len(labels), dtype=bool),
                          n_train=n_train, order="first", tau=tau)
    summary = {"order": update.order, "tau": update.tau, "gradient_norm": float(update.gradient_norm),
               "parameters_changed": int(update.parameters_changed)}
    state.update(coefficients=proxy.coef_.ravel().tolist(), intercept=float(proxy.intercept_[0]),
                 rows=n_train - len(labels))
    state["applied"].append(request)
    state["updates"].append({"request": request, **summary})
    write_json(os.path.join(folder, MODEL_STATE), state)  # the update's commit point
    _write_coefficients(folder, state)
    return summary


def _write_coefficients(folder: str, state: Dict) -> None:
    """Put the recorded coefficients into the saved Spark model (its data file), so that Spark loads them."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if "coefficients" not in state:
        return
    data = os.path.join(folder, state["path"], "data")
    (name,) = [n for n in os.listdir(data) if n.endswith(".parquet") and not n.startswith(".")]
    table = pq.read_table(os.path.join(data, name))
    row = table.to_pylist()[0]
    values = state["coefficients"]
    # Dense and row major, as Spark requires of a binomial model's coefficients.
    row["coefficientMatrix"] = {"type": 1, "numRows": 1, "numCols": len(values), "colPtrs": None,
                                "rowIndices": None, "values": values, "isTransposed": True}
    row["interceptVector"] = {"type": 1, "size": None, "indices": None, "values": [state["intercept"]]}
    _replace_parquet(os.path.join(data, name), pa.Table.from_pylist([row], schema=table.schema))


def _refit(folder: str, state: Dict, request: str) -> Dict:
    """Fit the model's estimator again, with its parameters, on the stored corrected training vectors (Spark)."""
    import importlib

    from pyspark.sql import SparkSession

    from lester_inspect.ivm.store import ModelUpdateError

    folder = os.path.abspath(folder)  # Spark resolves relative paths against the JVM's folder, not ours
    spark = SparkSession.getActiveSession() or SparkSession.builder.master("local[2]").getOrCreate()
    estimator_class = None
    for module in ("pyspark.ml.classification", "pyspark.ml.regression"):
        estimator_class = getattr(importlib.import_module(module), state.get("estimator") or "", None)
        if estimator_class is not None:
            break
    if estimator_class is None:
        raise ModelUpdateError(f"{os.path.basename(folder)}: {state['class']} ({state['refit_because']}) cannot be "
                               "fitted again: its estimator class is unknown. The run's data was changed; its model "
                               "was not")
    estimator = estimator_class()
    for name, value in state["params"].items():
        if estimator.hasParam(name):
            estimator.set(estimator.getParam(name), value)
    train = spark.read.parquet(os.path.join(folder, "train", "spark", "data"))
    model = estimator.fit(train)
    path = f"spark_model.{request[:12]}"
    model.write().overwrite().save(os.path.join(folder, path))
    old = state["path"]
    state.update(path=path, rows=int(train.count()))
    state.pop("pending", None)
    summary = {"refitted on the corrected training data": state["refit_because"]}
    state["applied"].append(request)
    state["updates"].append({"request": request, **summary})
    write_json(os.path.join(folder, MODEL_STATE), state)
    if old != path:
        shutil.rmtree(os.path.join(folder, old), ignore_errors=True)
    return summary
