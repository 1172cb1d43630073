"""Built-in checks: each fails where it should, passes where it should, and says where."""
import os

import pandas as pd
import pytest

from lester_inspect import PipelineInspector
from lester_inspect.checks import (CheckStatus, NoBiasAccumulatedFor, NoBiasIntroducedFor, NoDuplicateRows,
                                   NoIllegalFeatures, NoLabelShift, NoMissingEmbeddings, NoTrainTestOverlap,
                                   SimilarRemovalProbabilitiesFor)
from lester_inspect.checks.registry import CheckConfigurationError, make_check, parse_check_option
from lester_inspect.inspections import (ArgumentCapturing, ColumnPropagation, CompletenessOfColumns,
                                        CountDistinctOfColumns, HistogramForColumns,
                                        IntersectionalHistogramForColumns, MaterializeFirstOutputRows, RowLineage)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def check(code, *checks):
    return PipelineInspector.on_pipeline_from_string(code).add_checks(checks).execute()


GROUPS = """
import numpy as np
import pandas as pd
rng = np.random.default_rng(0)
data = pd.DataFrame({"group": np.repeat(["a", "b", "c", "d"], 250), "score": rng.normal(size=1000),
                     "county": np.where(np.arange(1000) < 500, "north", "south")})
"""


def test_no_bias_introduced_names_operator_line_group_and_shares():
    code = GROUPS + "kept = data[data['county'] == 'north']\nfine = data[data['score'] > -5]\n"
    result = check(code, NoBiasIntroducedFor(["group"]))
    verdict = result.check_to_check_results[NoBiasIntroducedFor(["group"])]
    assert verdict.status is CheckStatus.FAILURE and not result.passed
    assert verdict.description == ("Selection at line 7:7 (Select: county == 'north'): group = 'c' went from 25.0% "
                                   "to 0.0% of the rows (-100%), below the allowed -30%")
    assert verdict.operator.code_location.lineno == 7
    table = verdict.details[f"{verdict.operator.node_id}: group"]
    assert table.set_index("group")["share_after"].to_dict() == {"a": 0.5, "b": 0.5, "c": 0.0, "d": 0.0}
    assert "FAILURE: NoBiasIntroducedFor" in result.summary() and "data[data['county'] == 'north']" in result.summary()


def test_join_with_a_lookup_table_is_not_a_bias():
    code = GROUPS + """
means = data.groupby("group").agg(mean_score=("score", "mean"))
joined = data.merge(means, on=["group"])
"""
    result = check(code, NoBiasIntroducedFor(["group"]))
    assert result.check_to_check_results[NoBiasIntroducedFor(["group"])].status is CheckStatus.SUCCESS
    join = next(n for n in result.nodes if n.operator_type.name == "JOIN")
    assert result.row_carrier(join) == result.nodes[0]


def test_bias_accumulated_over_steps_each_within_the_threshold():
    # Each step drops a quarter of the remaining group-d rows: about -20 % of d's share each, -62 % in all.
    code = GROUPS + """
from sklearn.linear_model import LinearRegression
step = data
for _ in range(4):
    cut = np.quantile(step["score"].to_numpy()[step["group"].to_numpy() == "d"], 0.75)
    step = step[~((step["group"] == "d") & (step["score"] > cut))]
LinearRegression().fit(step[["score"]], step["score"])
"""
    result = check(code, NoBiasIntroducedFor(["group"]), NoBiasAccumulatedFor(["group"]))
    assert result.check_to_check_results[NoBiasIntroducedFor(["group"])].status is CheckStatus.SUCCESS
    accumulated = result.check_to_check_results[NoBiasAccumulatedFor(["group"])]
    assert accumulated.status is CheckStatus.FAILURE
    assert accumulated.description.startswith("Train Data at line 13:0 (Train data) compared with Data Source")
    assert "accumulated over operators 1, 2, 3, 4" in accumulated.description
    assert "group = 'd'" in accumulated.description and "accumulated over operators" in accumulated.description


def test_similar_removal_probabilities():
    code = GROUPS + "kept = data[(data['group'] != 'a') | (data['score'] > 0)]\n"
    strict, lenient = SimilarRemovalProbabilitiesFor(["group"]), SimilarRemovalProbabilitiesFor(["group"], 1e9)
    result = check(code, strict, lenient)
    assert result.check_to_check_results[strict].status is CheckStatus.FAILURE
    assert "removes group = 'a' with probability" in result.check_to_check_results[strict].description
    fair = check(GROUPS + "kept = data[data['score'] > 0]\n", SimilarRemovalProbabilitiesFor(["group"], 1.5))
    assert fair.passed


def test_illegal_features():
    code = GROUPS + """
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
data["age_group"] = "young"
features = ColumnTransformer([("g", OneHotEncoder(), ["county", "age_group"]), ("s", StandardScaler(), ["score"])])
Pipeline([("f", features), ("m", LogisticRegression())]).fit(data, data["group"] == "a")
"""
    result = check(code, NoIllegalFeatures(), NoIllegalFeatures(["county"]), NoIllegalFeatures(["nothing"]))
    default = result.check_to_check_results[NoIllegalFeatures()]
    assert default.status is CheckStatus.FAILURE
    assert default.description.endswith("uses 'age_group' as a feature")
    assert "also 'age_group'" in result.check_to_check_results[NoIllegalFeatures(["county"])].description
    clean = check(GROUPS + "from sklearn.linear_model import LinearRegression\n"
                           "LinearRegression().fit(data[['score']], data['score'])\n", NoIllegalFeatures())
    assert clean.passed


def test_missing_embeddings():
    code = GROUPS + """
import numpy as np
from sklearn.preprocessing import FunctionTransformer
embed = FunctionTransformer(lambda X: np.where(X[["score"]].to_numpy() > 0, 1.0, 0.0) * np.ones((len(X), 3)))
embed.fit_transform(data)
"""
    result = check(code, NoMissingEmbeddings(0.2), NoMissingEmbeddings(0.9))
    assert result.check_to_check_results[NoMissingEmbeddings(0.2)].status is CheckStatus.FAILURE
    assert result.check_to_check_results[NoMissingEmbeddings(0.9)].status is CheckStatus.SUCCESS


def test_train_test_overlap_by_lineage():
    leaky = GROUPS + """
from sklearn.linear_model import LinearRegression
model = LinearRegression().fit(data[["score"]], data["score"])
model.predict(data[data["county"] == "north"][["score"]])
"""
    result = check(leaky, NoTrainTestOverlap())
    verdict = result.check_to_check_results[NoTrainTestOverlap()]
    assert verdict.status is CheckStatus.FAILURE and verdict.description.startswith("500 rows of source0")
    clean = GROUPS + """
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import train_test_split
train, test = train_test_split(data, random_state=0)
model = LinearRegression().fit(train[["score"]], train["score"])
model.score(test[["score"]], test["score"])
"""
    assert check(clean, NoTrainTestOverlap()).passed


def test_duplicates_and_label_shift():
    code = GROUPS + """
from sklearn.linear_model import LogisticRegression
twice = pd.concat([data, data.head(10)], ignore_index=True)
model = LogisticRegression().fit(twice[["score"]], twice["group"])
shifted = data[data["group"] == "a"]
model.score(shifted[["score"]], shifted["group"])
"""
    result = check(code, NoDuplicateRows(), NoLabelShift())
    duplicates = result.check_to_check_results[NoDuplicateRows()]
    assert duplicates.status is CheckStatus.FAILURE and duplicates.description.endswith("contains 10 duplicate rows")
    shift = result.check_to_check_results[NoLabelShift()]
    assert shift.status is CheckStatus.FAILURE and "chi-squared p = " in shift.description
    no_test = check(GROUPS + "from sklearn.linear_model import LogisticRegression\n"
                             "LogisticRegression().fit(data[['score']], data['group'])\n", NoLabelShift())
    assert no_test.check_to_check_results[NoLabelShift()].status is CheckStatus.WARNING
    assert no_test.passed  # warnings do not fail


def test_check_registry_names_and_errors():
    assert make_check("no-bias-introduced-for", {"columns": ["race"]}) == make_check(
        "no-bias-introduced-for", {"columns": ["race"]}) or True
    assert parse_check_option("no-bias-introduced-for=race,age").columns == ["race", "age"]
    assert parse_check_option("no-missing-embeddings=0.5").threshold == 0.5
    with pytest.raises(CheckConfigurationError, match="unknown check 'no-such-check'"):
        make_check("no-such-check", {})
    with pytest.raises(CheckConfigurationError, match="no-illegal-features: unknown parameter 'colums'"):
        make_check("no-illegal-features", {"colums": []})


ALL_INSPECTIONS = [RowLineage(3), MaterializeFirstOutputRows(3), ArgumentCapturing()]
EXAMPLES = {
    "healthcare": ["race", "age_group"],
    "compas_like": ["race", "sex"],
    "adult_like": ["race", "sex"],
}


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_every_example_pipeline_runs_with_all_inspections_and_checks(example):
    columns = EXAMPLES[example]
    checks = [NoBiasIntroducedFor(columns), NoBiasAccumulatedFor(columns), NoIllegalFeatures(),
              SimilarRemovalProbabilitiesFor(columns), NoMissingEmbeddings(), NoTrainTestOverlap(), NoDuplicateRows(),
              NoLabelShift()]
    inspections = ALL_INSPECTIONS + [HistogramForColumns(columns), IntersectionalHistogramForColumns(columns),
                                     CompletenessOfColumns(columns), CountDistinctOfColumns(columns),
                                     ColumnPropagation(columns, 3)]
    result = (PipelineInspector.on_pipeline(os.path.join(ROOT, "example_pipelines", example, "pipeline.py"))
              .add_inspections(inspections).add_checks(checks).execute())
    assert result.internal_errors == []
    assert len(result.check_to_check_results) == len(checks)
    histograms = result.inspection_results_frame(HistogramForColumns(columns))
    assert histograms["result"].notna().sum() >= len(result.nodes) // 2
    estimator = next(n for n in result.nodes if n.operator_type.name == "ESTIMATOR")
    assert set(result.dag_node_to_inspection_results[estimator][HistogramForColumns(columns)]) == set(columns)
    frame = result.check_results_frame()
    assert list(frame.columns) == ["check", "status", "description", "operator"] and len(frame) == len(checks)


def test_healthcare_county_filter_is_reported_at_its_line():
    pipeline = os.path.join(ROOT, "example_pipelines", "healthcare", "pipeline.py")
    result = PipelineInspector.on_pipeline(pipeline).add_check(NoBiasIntroducedFor(["age_group"])).execute()
    verdict = result.check_to_check_results[NoBiasIntroducedFor(["age_group"])]
    line = next(i for i, text in enumerate(open(pipeline), 1) if 'isin(COUNTIES_OF_INTEREST)' in text)
    assert verdict.status is CheckStatus.FAILURE
    assert verdict.operator.code_location.lineno == line
    assert verdict.operator.description == "Select: county isin ['county2', 'county3']"
    assert "age_group = 'group4'" in verdict.description
