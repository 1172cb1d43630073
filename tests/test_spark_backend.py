"""The PySpark backend: DAG, provenance computed by Spark, checks, unchanged user output.

One SparkSession for the module (local[2], two shuffle partitions, no UI); the
pipelines' own ``SparkSession.builder.getOrCreate()`` returns it. Data is tiny: the
cost is Spark's per-job overhead, so each test runs few jobs.
"""
import builtins
import contextlib
import io
import os
import subprocess
import sys
import textwrap

import pytest

pyspark = pytest.importorskip("pyspark")
# One worker runs every Spark test (pytest -n auto --dist loadgroup): one JVM, each module fixture once.
pytestmark = pytest.mark.xdist_group("spark")

from lester_inspect import PipelineInspector  # noqa: E402
from lester_inspect.checks import (NoBiasIntroducedFor, NoIllegalFeatures, NoTrainTestOverlap,  # noqa: E402
                                   SimilarRemovalProbabilitiesFor)
from lester_inspect.inspections import (CompletenessOfColumns, CountDistinctOfColumns,  # noqa: E402
                                        HistogramForColumns, MaterializeFirstOutputRows, RowLineage)
from lester_inspect.instrumentation.dag import OperatorType as T  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def spark():
    from lester_inspect.spark.session import local_session

    return local_session()


@pytest.fixture(scope="module")
def tables(tmp_path_factory, spark):
    folder = tmp_path_factory.mktemp("spark_tables")
    (folder / "patients.csv").write_text(
        "id,county,age_group,race\n1,c1,young,r1\n2,c2,old,r2\n3,c1,young,r1\n4,c3,old,r2\n5,c2,young,r1\n"
        "6,c1,old,\n")
    (folder / "histories.csv").write_text("id,score\n3,3.0\n1,1.0\n2,2.0\n6,6.0\n5,5.0\n4,4.0\n")
    return folder


def _pipeline(tables, body: str) -> str:
    return textwrap.dedent(f"""\
        from pyspark.sql import SparkSession, functions as F
        spark = SparkSession.builder.getOrCreate()
        patients = spark.read.csv({str(tables / 'patients.csv')!r}, header=True, inferSchema=True)
        histories = spark.read.csv({str(tables / 'histories.csv')!r}, header=True, inferSchema=True)
        """) + textwrap.dedent(body)


def _run(code: str, inspections=(), checks=()):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = (PipelineInspector.on_pipeline_from_string(code).add_inspections(inspections)
                  .add_checks(checks).execute())
    return result, out.getvalue()


def _plain(code: str, path: str = "<plain>") -> str:
    out, argv = io.StringIO(), sys.argv
    sys.argv = [path]
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, path, "exec"), {"__name__": "__main__", "__file__": path})
    finally:
        sys.argv = argv
    return out.getvalue()


def _summary(result):
    return [(n.node_id, n.operator_type.name, n.description, [p.node_id for p in result.parents(n)])
            for n in result.nodes]


def test_import_stays_light_and_pandas_pipelines_never_import_pyspark():
    code = ("import sys, lester_inspect\n"
            "assert 'pyspark' not in sys.modules\n"
            "from lester_inspect import PipelineInspector\n"
            "from lester_inspect.inspections import RowLineage\n"
            "PipelineInspector.on_pipeline_from_string('import pandas as pd\\npd.DataFrame({\"a\": [1]})\\n')"
            ".add_inspection(RowLineage(1)).execute()\n"
            "assert 'pyspark' not in sys.modules, 'a pandas pipeline imported pyspark'\n")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": ROOT})


def test_dag_of_dataframe_operators(spark, tables):
    from pyspark.sql.classic.dataframe import DataFrame
    from pyspark.sql.group import GroupedData

    before = {name: vars(DataFrame)[name] for name in ("filter", "join", "toPandas", "select")}
    before_agg, before_import = vars(GroupedData)["agg"], builtins.__import__
    code = _pipeline(tables, """
        data = patients.join(histories, on="id", how="left")
        data = data.filter(F.col("county").isin(["c1", "c2"]))
        data = data.withColumn("high", F.when(F.col("score") > 2, 1).otherwise(0))
        means = data.groupBy("age_group").agg(F.avg("score").alias("mean_score"))
        data = data.join(means, on="age_group").select("id", "county", "high", "mean_score")
        data = data.dropna(subset=["county"]).fillna(0).union(data).distinct().orderBy("id").limit(10)
        train, test = data.randomSplit([0.5, 0.5], seed=1)
        frame = train.toPandas()
        """)
    result, _ = _run(code)
    assert _summary(result) == [
        (0, "DATA_SOURCE", "Read patients.csv", []),
        (1, "DATA_SOURCE", "Read histories.csv", []),
        (2, "JOIN", "Left join on id", [0, 1]),
        (3, "SELECTION", "Select: county IN ('c1', 'c2')", [2]),
        (4, "PROJECTION_MODIFY", "Set column 'high': CASE WHEN score > 2 THEN 1 ELSE 0 END", [3]),
        (5, "GROUP_BY_AGG", "Group by age_group: agg(avg(score) AS mean_score)", [4]),
        (6, "JOIN", "Inner join on age_group", [4, 5]),
        (7, "PROJECTION", "Project: id, county, high, mean_score", [6]),
        (8, "SELECTION", "Drop rows with missing values in county", [7]),
        (9, "PROJECTION_MODIFY", "Fill missing values with 0", [8]),
        (10, "CONCATENATION", "Concatenate rows of 2 DataFrames (by position)", [9, 7]),
        (11, "SELECTION", "Drop duplicate rows", [10]),
        (12, "SORT", "Sort by id", [11]),
        (13, "SELECTION", "First 10 rows", [12]),
        (14, "TRAIN_TEST_SPLIT", "Split: part 1 of 2 (50% of rows)", [13]),
        (15, "TRAIN_TEST_SPLIT", "Split: part 2 of 2 (50% of rows)", [13]),
        (16, "PROJECTION", "Collect to pandas (toPandas)", [14]),
    ]
    assert result.internal_errors == []
    assert {name: vars(DataFrame)[name] for name in before} == before and vars(GroupedData)["agg"] is before_agg
    assert builtins.__import__ is before_import


def test_lineage_histograms_and_bias_are_computed_by_spark_and_output_is_unchanged(spark, tables):
    code = _pipeline(tables, """
        data = patients.join(histories, on="id")
        means = data.groupBy("age_group").agg(F.avg("score").alias("mean_score"))
        data = data.join(means, on="age_group").select("id", "county", "score", "mean_score")
        data = data.filter(F.col("county") == "c1").orderBy("id")
        data.show()
        data.printSchema()
        print(data.collect())
        print(data.toPandas().to_string())
        missing = patients.filter(F.col("race").isNull()).toPandas()
        missing = missing[missing["id"] > 0]
        """)
    plain = _plain(code)
    lineage = RowLineage(3, [T.DATA_SOURCE, T.JOIN, T.GROUP_BY_AGG, T.PROJECTION, T.SELECTION])
    histogram = HistogramForColumns(["age_group"])
    result, output = _run(code, [lineage, histogram], [NoBiasIntroducedFor(["age_group"])])
    assert output == plain
    assert result.internal_errors == []
    nodes = {n.description: n for n in result.nodes}
    results = result.dag_node_to_inspection_results
    join = results[nodes["Inner join on id"]][lineage]
    assert [str(p) for p in join.sort_values("id")["lineage"]] == ["patients[0] * histories[1]",
                                                                   "patients[1] * histories[2]",
                                                                   "patients[2] * histories[0]"]
    groups = results[nodes["Group by age_group: agg(avg(score) AS mean_score)"]][lineage]
    young = groups[groups["age_group"] == "young"]["lineage"].iloc[0]
    assert str(young) == "(patients[0] * histories[1] + patients[2] * histories[0] + patients[4] * histories[4])"
    selection = nodes["Select: county = 'c1'"]
    # age_group was projected away before the filter; its values travel in a hidden column.
    assert results[selection][histogram] == {"age_group": {"young": 2, "old": 1}}
    assert results[nodes["Read patients.csv"]][histogram] == {"age_group": {"young": 3, "old": 3}}
    check = result.check_to_check_results[NoBiasIntroducedFor(["age_group"])]
    assert check.status.name == "FAILURE" and check.operator.description == "Select: isNull(race)"
    assert "age_group = 'young' went from 50.0% to 0.0% of the rows" in check.description
    # Aggregated rows keep their group lineage in Spark: toPandas says it does not know theirs.
    collected = [n for n in result.nodes if n.description == "Collect to pandas (toPandas)"]
    assert results[collected[0]][lineage]["lineage"].isna().all()
    # Rows of sources keep their lineage into pandas, and pandas carries it on.
    assert [str(p) for p in results[collected[1]][lineage]["lineage"]] == ["patients[5]"]
    assert [str(p) for p in results[result.nodes[-1]][lineage]["lineage"]] == ["patients[5]"]


def test_healthcare_example_flags_the_county_filter_and_prints_the_same(spark):
    path = os.path.join(ROOT, "example_pipelines", "healthcare_spark", "pipeline.py")
    with open(path) as source:
        plain = _plain(source.read(), path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = (PipelineInspector.on_pipeline(path).add_check(NoBiasIntroducedFor(["age_group"]))
                  .add_check(NoIllegalFeatures()).add_check(NoTrainTestOverlap()).execute())
    assert out.getvalue() == plain
    assert result.internal_errors == []
    bias = result.check_to_check_results[NoBiasIntroducedFor(["age_group"])]
    county = next(n for n in result.nodes if n.description == "Select: county IN ('county2', 'county3')")
    assert bias.status.name == "FAILURE"
    drops = bias.details[f"{county.node_id}: age_group"].set_index("group")["relative_change"]
    # Counties 2 and 3 are young: the filter lowers the share of the oldest group by more than half.
    assert drops["group4"] < -0.5 and drops["group1"] > 0
    illegal = result.check_to_check_results[NoIllegalFeatures()]
    assert illegal.status.name == "FAILURE" and "'race'" in illegal.description
    assert result.check_to_check_results[NoTrainTestOverlap()].status.name == "SUCCESS"
    types = [n.operator_type.name for n in result.nodes]
    assert types.count("TRANSFORMER") == 10 and "ESTIMATOR" in types and "PREDICT" in types and "SCORE" in types


def test_data_quality_inspections_and_removal_check_on_spark_operators(spark, tables):
    code = _pipeline(tables, """
        kept = patients.where(F.col("county") != "c3")
        """)
    completeness, distinct = CompletenessOfColumns(["race"]), CountDistinctOfColumns(["county"])
    first = MaterializeFirstOutputRows(2)
    removal = SimilarRemovalProbabilitiesFor(["age_group"], max_removal_probability_ratio=1.5)
    result, _ = _run(code, [completeness, distinct, first], [removal])
    read, selection = result.nodes[0], result.nodes[-1]
    results = result.dag_node_to_inspection_results
    assert results[read][completeness] == {"race": 5 / 6} and results[selection][distinct] == {"county": 2}
    assert results[selection][first]["id"].tolist() == [1, 2]
    # c3's only patient is old: the selection removes old patients only.
    check = result.check_to_check_results[removal]
    assert check.status.name == "FAILURE" and check.operator == selection


def test_first_rows_of_maps_and_counts_of_split_parts_are_those_of_the_plain_frames(spark, tables):
    # Maps' first rows are computed from their input's; a split's last part's counts from the other part's.
    code = _pipeline(tables, """
        from pyspark.ml.feature import StringIndexer
        data = patients.withColumn("file", F.input_file_name())
        data = data.join(histories, on="id").withColumn("double", F.col("score") * 2)
        train, test = data.randomSplit([0.5, 0.5], seed=3)
        indexed = StringIndexer(inputCol="race", outputCol="race_index", handleInvalid="skip").fit(data).transform(data)
        """)
    plain = {"__name__": "__main__"}
    exec(compile(code, "<plain>", "exec"), plain)
    lineage, histogram = RowLineage(3), HistogramForColumns(["age_group"])
    result, _ = _run(code, [lineage, histogram])
    assert result.internal_errors == []
    results = result.dag_node_to_inspection_results
    nodes = {n.description: n for n in result.nodes}
    for description, frame in [("Set column 'file': input_file_name()", plain["patients"].withColumn(
            "file", plain["F"].input_file_name())), ("Set column 'double': score * 2", plain["data"])]:
        shown = results[nodes[description]][lineage].drop(columns="lineage")
        assert shown.equals(frame.limit(3).toPandas()), description
    assert results[nodes["Set column 'file': input_file_name()"]][lineage]["file"].str.endswith(
        "patients.csv").all()
    for part, frame in [("Split: part 1 of 2 (50% of rows)", plain["train"]),
                        ("Split: part 2 of 2 (50% of rows)", plain["test"])]:
        counted = {row["age_group"]: row["count"] for row in frame.groupBy("age_group").count().collect()}
        assert results[nodes[part]][histogram] == {"age_group": counted}
    # handleInvalid="skip" drops the patient without race: the transform does not keep its input's rows.
    transform = next(n for n in result.nodes if n.description.startswith("StringIndexerModel: transform"))
    assert results[transform][histogram] == {"age_group": {"young": 3, "old": 2}}
