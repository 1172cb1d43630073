"""Screening checks and data value: each fires on a seeded issue with the source column or rows at fault."""
import numpy as np
import pytest

from lester_inspect import PipelineInspector
from lester_inspect.checks import (CheckStatus, GroupFairness, NoConstantFeatures, NoPersonalDataInFeatures,
                                   NoPreprocessingLeakage, NoUnnormalisedFeatures)
from lester_inspect.checks.registry import CheckConfigurationError, make_check, parse_check_option
from lester_inspect.inspections import DataValue
from lester_inspect.inspections.screening import iban_valid, knn_shapley, luhn_valid, personal_data_kind, rows_to_fix


def run(code, checks=(), inspections=()):
    return (PipelineInspector.on_pipeline_from_string(code).add_checks(list(checks))
            .add_inspections(list(inspections)).execute())


PEOPLE = """
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
rng = np.random.default_rng(0)
n = 200
people = pd.DataFrame({"email": [f"user{i}@example.org" for i in range(n)], "income": rng.normal(50, 10, n),
                       "phone": [f"+41 79 {i:03d} 12 34" for i in range(n)], "city": rng.choice(["x", "y"], n)})
people["label"] = people["income"] > 50
people["contact"] = people["email"].str.lower()
"""


def test_personal_data_kinds_and_checksums():
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("GB82WEST12345698765432") and not iban_valid("GB82WEST12345698765433")
    assert personal_data_kind("ana@example.org") == "email"
    assert personal_data_kind("GB82 WEST 1234 5698 7654 32") == "iban"
    assert personal_data_kind("GB82 WEST 1234 5698 7654 33") is None
    assert personal_data_kind("4111-1111-1111-1111") == "card number"
    assert personal_data_kind("+41 79 123 45 67") == "phone number"
    assert personal_data_kind("12345678") is None and personal_data_kind("2024-01-05") is None
    assert personal_data_kind("Dr. Ana Lopez", frozenset({"lopez"})) == "name"
    assert personal_data_kind("Lopez", frozenset()) is None


def test_personal_data_reaching_features_is_named_by_source_column_and_matrix_columns():
    code = PEOPLE + """
features = ColumnTransformer([("h", HashingVectorizer(n_features=8), "contact"), ("s", StandardScaler(), ["income"]),
                              ("c", OneHotEncoder(), ["city"])])
Pipeline([("f", features), ("m", LogisticRegression())]).fit(people, people["label"])
"""
    result = run(code, [NoPersonalDataInFeatures()])
    verdict = result.check_to_check_results[NoPersonalDataInFeatures()]
    assert verdict.status is CheckStatus.FAILURE, verdict.description
    table = verdict.details["personal_data"]
    assert table[["source", "column", "kind"]].values.tolist() == [["source0", "email", "email"]]
    assert len(table["matrix_columns"].iloc[0]) == 8 and "source0.email" in verdict.description
    assert "phone" not in set(table["column"])  # a personal column the model does not use is fine
    clean = PEOPLE + """
features = ColumnTransformer([("s", StandardScaler(), ["income"]), ("c", OneHotEncoder(), ["city"])])
Pipeline([("f", features), ("m", LogisticRegression())]).fit(people, people["label"])
"""
    assert run(clean, [NoPersonalDataInFeatures()]).passed


def test_names_from_a_list_and_parameters_checked_at_construction():
    code = """
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import OrdinalEncoder
data = pd.DataFrame({"who": ["Ana Lopez", "Bo Chen", "Ana Chen", "Li Wu"] * 10, "y": [0, 1] * 20})
X = pd.DataFrame({"code": data["who"].map(len)})
LogisticRegression().fit(X, data["y"])
"""
    assert run(code, [NoPersonalDataInFeatures(["nobody"])]).passed
    named = run(code, [NoPersonalDataInFeatures(["lopez", "Chen", "wu"])])
    verdict = named.check_to_check_results[NoPersonalDataInFeatures(["lopez", "Chen", "wu"])]
    assert verdict.status is CheckStatus.FAILURE and "look like names" in verdict.description
    assert verdict.details["personal_data"]["matrix_columns"].iloc[0] == ["code"]
    with pytest.raises(ValueError, match="names must be a list"):
        NoPersonalDataInFeatures("lopez")
    with pytest.raises(ValueError, match="min_share must be a number between 0 and 1, not 2"):
        NoPersonalDataInFeatures(min_share=2)


FEATURES = """
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
rng = np.random.default_rng(1)
data = pd.DataFrame({"a": rng.normal(size=100), "b": rng.normal(100, 30, size=100), "k": ["same"] * 100,
                     "c": rng.choice(["u", "v"], 100)})
"""


def test_constant_and_unnormalised_features_named_by_source_column():
    code = FEATURES + """
features = ColumnTransformer([("s", StandardScaler(), ["a"]), ("raw", "passthrough", ["b"]),
                              ("o", OneHotEncoder(), ["k", "c"])])
Pipeline([("f", features), ("m", LogisticRegression())]).fit(data, data["a"] > 0)
"""
    result = run(code, [NoConstantFeatures(), NoUnnormalisedFeatures()])
    constant = result.check_to_check_results[NoConstantFeatures()]
    assert constant.status is CheckStatus.FAILURE and "from source0.k" in constant.description
    table = next(iter(constant.details.values()))
    assert table["sources"].tolist() == ["source0.k"]
    unnormalised = result.check_to_check_results[NoUnnormalisedFeatures()]
    assert unnormalised.status is CheckStatus.FAILURE and "from source0.b" in unnormalised.description
    assert next(iter(unnormalised.details.values()))["sources"].tolist() == ["source0.b"]
    fine = FEATURES + """
features = ColumnTransformer([("s", StandardScaler(), ["a", "b"]), ("o", OneHotEncoder(), ["c"])])
Pipeline([("f", features), ("m", LogisticRegression())]).fit(data, data["a"] > 0)
"""
    assert run(fine, [NoConstantFeatures(), NoUnnormalisedFeatures()]).passed
    trees = run(code.replace("LogisticRegression()", "__import__('sklearn.tree').tree.DecisionTreeClassifier()"),
                [NoUnnormalisedFeatures()]).check_to_check_results[NoUnnormalisedFeatures()]
    assert trees.status is CheckStatus.SUCCESS and "tree models" in trees.description


def test_sparse_matrices_are_densified_within_a_limit():
    from scipy import sparse

    from lester_inspect.inspections.screening import dense

    matrix = sparse.csr_matrix(np.eye(3))
    assert np.array_equal(dense(matrix, "training"), np.eye(3))
    with pytest.raises(ValueError, match=r"the test feature matrix \(3 x 3\) is too large to densify"):
        dense(matrix, "test", max_cells=8)
    with pytest.raises(ValueError, match="the training feature matrix is not numeric"):
        dense(np.array([["a"]], dtype=object), "training")


UNFAIR = """
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
rng = np.random.default_rng(2)
n = 1000
data = pd.DataFrame({"group": rng.choice(["a", "b"], n), "x": rng.normal(size=n)})
data["label"] = data["x"] > 0
# group b's labels are noise: the model is right for a, a coin toss for b
data.loc[data["group"] == "b", "label"] = rng.random((data["group"] == "b").sum()) > 0.5
features = data[["x", "label"]]
train, test = train_test_split(features, random_state=0)
model = LogisticRegression().fit(train[["x"]], train["label"])
model.score(test[["x"]], test["label"])
"""


def test_group_fairness_recovers_a_projected_away_column():
    strict, loose = GroupFairness("group"), GroupFairness("group", max_difference=0.9)
    result = run(UNFAIR, [strict, loose, GroupFairness("group", "selection_rate", 0.2)])
    verdict = result.check_to_check_results[strict]
    assert verdict.status is CheckStatus.FAILURE and "group = 'a'" in verdict.description
    table = verdict.details["group: accuracy"].set_index("group")
    assert table["rows"].sum() == 250 and table.loc["a", "accuracy"] > 0.9 > 0.7 > table.loc["b", "accuracy"]
    assert result.check_to_check_results[loose].status is CheckStatus.SUCCESS
    assert result.check_to_check_results[GroupFairness("group", "selection_rate", 0.2)].status is CheckStatus.SUCCESS
    few = run(UNFAIR, [GroupFairness("group", min_rows=200)]).check_to_check_results[GroupFairness("group",
                                                                                                    min_rows=200)]
    assert few.status is CheckStatus.WARNING and "with 200 or more test rows" in few.description
    assert len(result.nodes) == len(run(UNFAIR).nodes)  # our predict() adds no operator


def test_group_fairness_parameters_and_registry_names():
    with pytest.raises(ValueError, match="metric must be one of accuracy, selection_rate, tpr, not 'f1'"):
        GroupFairness("group", "f1")
    with pytest.raises(ValueError, match="max_difference must be a number between 0 and 1"):
        GroupFairness("group", max_difference=-1)
    assert parse_check_option("group-fairness=race") == GroupFairness("race")
    assert make_check("group-fairness", {"column": "sex", "metric": "tpr"}) == GroupFairness("sex", "tpr")
    assert parse_check_option("no-personal-data-in-features=ana,bo").names == ["ana", "bo"]
    assert make_check("no-constant-features", {}) == NoConstantFeatures()
    assert make_check("no-unnormalised-features", {}) == NoUnnormalisedFeatures()
    with pytest.raises(CheckConfigurationError, match="group-fairness: unknown parameter 'metrc'"):
        make_check("group-fairness", {"column": "sex", "metrc": "tpr"})


def test_knn_shapley_matches_brute_force_permutations():
    from itertools import permutations

    rng = np.random.default_rng(3)
    train_X, test_X = rng.normal(size=(5, 2)), rng.normal(size=(3, 2))
    train_y, test_y = rng.integers(0, 2, 5), rng.integers(0, 2, 3)

    def utility(rows, k=2):  # accuracy of k-NN as defined by Jia et al.: matching share of the k nearest, over k
        if not rows:
            return 0.0
        total = 0.0
        for x, y in zip(test_X, test_y):
            nearest = sorted(rows, key=lambda r: np.sum((train_X[r] - x) ** 2))[:k]
            total += sum(train_y[r] == y for r in nearest) / k
        return total / len(test_X)

    exact = np.zeros(5)
    orders = list(permutations(range(5)))
    for order in orders:
        for i, row in enumerate(order):
            exact[row] += utility(list(order[:i + 1])) - utility(list(order[:i]))
    assert np.allclose(knn_shapley(train_X, train_y, test_X, test_y, 2), exact / len(orders))


NOISY = """
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
rng = np.random.default_rng(4)
n = 1200
people = pd.DataFrame({"id": np.arange(n), "x1": rng.normal(size=n), "x2": rng.normal(size=n)})
people["label"] = (people["x1"] + people["x2"] > 0).astype(int)
flipped = rng.choice(n, n // 20, replace=False)
people.loc[flipped, "label"] = 1 - people.loc[flipped, "label"]
extra = pd.DataFrame({"id": np.arange(n), "x3": rng.normal(size=n)})
data = people.merge(extra, on="id")
train, test = train_test_split(data, test_size=0.25, random_state=0)
model = LogisticRegression().fit(train[["x1", "x2", "x3"]], train["label"])
model.score(test[["x1", "x2", "x3"]], test["label"])
"""


def test_data_value_puts_flipped_labels_at_the_bottom_and_credits_both_join_sides():
    result = run(NOISY, inspections=[DataValue(5)])
    rng = np.random.default_rng(4)
    n = 1200
    rng.normal(size=n), rng.normal(size=n)
    flipped = set(rng.choice(n, n // 20, replace=False).tolist())
    score = next(node for node in result.nodes if node.operator_type.name == "SCORE")
    values = result.dag_node_to_inspection_results[score][DataValue(5)]
    assert sorted(values.source_values) == ["source0", "source3"]  # people and extra, named by their node ids
    people, extra = values.source_values["source0"], values.source_values["source3"]
    assert np.allclose(people, extra) and np.isclose(people.sum(), values.train_values.sum())
    train_flipped = [r for r in flipped if people[r] != 0]  # flipped rows in the training data
    bottom = set(rows_to_fix(result, "source0", n // 10)["row"].tolist())
    found = len(bottom & set(train_flipped)) / len(train_flipped)
    assert len(train_flipped) > 30 and found >= 0.6, found
    assert result.rows_to_fix("source0", 3)["row"].tolist() == rows_to_fix(result, "source0", 3)["row"].tolist()
    with pytest.raises(ValueError, match="no data values for source 'nope'"):
        rows_to_fix(result, "nope")
    with pytest.raises(ValueError, match="k must be a positive integer, not 0"):
        DataValue(0)


LEAK = """
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
rng = np.random.default_rng(5)
data = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200), "label": rng.random(200) > 0.5})
"""


def test_preprocessing_fitted_on_test_rows_is_named_with_operator_line_and_rows():
    leaky = LEAK + """
scaled = StandardScaler().fit_transform(data[["a", "b"]])
X_train, X_test, y_train, y_test = train_test_split(scaled, data["label"], random_state=0)
model = LogisticRegression().fit(X_train, y_train)
model.score(X_test, y_test)
"""
    verdict = run(leaky, [NoPreprocessingLeakage()]).check_to_check_results[NoPreprocessingLeakage()]
    assert verdict.status is CheckStatus.FAILURE
    assert verdict.description.startswith("Transformer at line 10:9 (StandardScaler: fit_transform) was fitted on "
                                          "test rows: 50 of its 200 rows are test rows of source0")
    assert verdict.operator.code_location.lineno == 10
    clean = LEAK + """
X_train, X_test, y_train, y_test = train_test_split(data[["a", "b"]], data["label"], random_state=0)
scaler = StandardScaler().fit(X_train)
model = LogisticRegression().fit(scaler.transform(X_train), y_train)
model.score(scaler.transform(X_test), y_test)
"""
    assert run(clean, [NoPreprocessingLeakage()]).passed


def test_target_leakage_through_column_provenance():
    code = LEAK + """
data["hint"] = data["label"].astype(int) * 2 + data["b"]
X_train, X_test, y_train, y_test = train_test_split(data[["a", "hint"]], data["label"], random_state=0)
LogisticRegression().fit(X_train, y_train).score(X_test, y_test)
"""
    verdict = run(code, [NoPreprocessingLeakage()]).check_to_check_results[NoPreprocessingLeakage()]
    assert verdict.status is CheckStatus.FAILURE and "target leakage" in verdict.description
    table = verdict.details["leakage"]
    assert table["kind"].tolist() == ["target leakage"] and "matrix column 1 (hint)" in table["detail"].iloc[0]
    assert make_check("no-preprocessing-leakage", {}) == NoPreprocessingLeakage()
