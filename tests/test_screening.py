"""Screening checks and data value: each fires on a seeded issue with the source column or rows at fault."""
import importlib.util
import os
import sys

import numpy as np
import pytest

from lester_inspect import PipelineInspector
from lester_inspect.checks import (CheckStatus, GroupFairness, NoConstantFeatures, NoPersonalDataInFeatures,
                                   NoCovariateShift, NoLabelErrors, NoPreprocessingLeakage, NoUnnormalisedFeatures)
from lester_inspect.checks.screening_models import label_issues
from lester_inspect.checks.registry import CheckConfigurationError, make_check, parse_check_option
from lester_inspect.inspections import DataValue, ModelInputs
from lester_inspect.inspections.screening import iban_valid, knn_shapley, luhn_valid, personal_data_kind, rows_to_fix

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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
people = pd.DataFrame({"id": np.arange(n), "x1": rng.normal(size=n), "x2": rng.normal(size=n)},
                      index=[f"p{i}" for i in range(n)])
people["label"] = (people["x1"] + people["x2"] > 0).astype(int)
flipped = rng.choice(n, n // 20, replace=False)
people.loc[people.index[flipped], "label"] = 1 - people["label"].iloc[flipped]
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
    names = sorted(values.source_values, key=values.source_nodes.get)  # people, then extra
    assert len(names) == 2 and names[0] == "source0"
    people, extra = (values.source_values[name] for name in names)
    assert np.allclose(people, extra) and np.isclose(people.sum(), values.train_values.sum())
    train_flipped = [r for r in flipped if people[r] != 0]  # flipped rows in the training data
    bottom = set(rows_to_fix(result, "source0", n // 10)["row"].tolist())
    found = len(bottom & set(train_flipped)) / len(train_flipped)
    assert len(train_flipped) > 30 and found >= 0.6, found
    worst = result.rows_to_fix("source0", 3)
    assert worst["row"].tolist() == rows_to_fix(result, "source0", 3)["row"].tolist()
    assert worst["key"].tolist() == [f"p{row}" for row in worst["row"]]  # the source frame's row labels
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
                                          "test rows: 50 of its 200 rows of source0 are test rows of Score at line "
                                          "13:0 (LogisticRegression: score), e.g. rows [")
    assert verdict.operator.code_location.lineno == 10
    clean = LEAK + """
X_train, X_test, y_train, y_test = train_test_split(data[["a", "b"]], data["label"], random_state=0)
scaler = StandardScaler().fit(X_train)
model = LogisticRegression().fit(scaler.transform(X_train), y_train)
model.score(scaler.transform(X_test), y_test)
"""
    assert run(clean, [NoPreprocessingLeakage()]).passed


CROSS_VALIDATED = LEAK + """
from sklearn.model_selection import GridSearchCV, cross_val_score, cross_validate
from sklearn.pipeline import make_pipeline
scaled = StandardScaler().fit_transform(data[["a", "b"]])
EVALUATION
"""


@pytest.mark.parametrize("evaluation, held_out_by", [
    ('cross_val_score(LogisticRegression(), scaled, data["label"], cv=3)', "the cross-validation at line 13"),
    ('cross_validate(LogisticRegression(), scaled, data["label"], cv=4)', "the cross-validation at line 13"),
    ('GridSearchCV(LogisticRegression(), {"C": [0.1, 1]}, cv=3).fit(scaled, data["label"])', "GridSearchCV at line 13"),
])
def test_preprocessing_fitted_on_rows_a_cross_validation_holds_out(evaluation, held_out_by):
    verdict = run(CROSS_VALIDATED.replace("EVALUATION", evaluation),
                  [NoPreprocessingLeakage()]).check_to_check_results[NoPreprocessingLeakage()]
    assert verdict.status is CheckStatus.FAILURE and verdict.operator.code_location.lineno == 12
    assert verdict.description == (
        "Transformer at line 12:9 (StandardScaler: fit_transform) was fitted on rows a cross-validation holds out: "
        f"200 of its 200 rows of source0 are held out by {held_out_by}, e.g. rows [0, 1, 2]; fit it inside the "
        "folds, e.g. in a Pipeline with the model")
    assert len(verdict.details["leakage"]) == 1  # the folds of one cross-validation are one leak


@pytest.mark.parametrize("evaluation", [
    'cross_val_score(make_pipeline(StandardScaler(), LogisticRegression()), data[["a", "b"]], data["label"], cv=3)',
    'GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression()), {"logisticregression__C": [0.1, 1]}, '
    'cv=3).fit(data[["a", "b"]], data["label"])',
])
def test_scalers_fitted_inside_the_folds_and_unused_ones_do_not_leak(evaluation):
    # ``scaled`` is fitted on all rows but never evaluated; each fold's own scaler sees only its training rows.
    assert run(CROSS_VALIDATED.replace("EVALUATION", evaluation), [NoPreprocessingLeakage()]).passed


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


def flipped_training_rows(result):
    """The seeded flipped rows of NOISY (same generator draws) that are in the training data."""
    rng = np.random.default_rng(4)
    rng.normal(size=1200), rng.normal(size=1200)
    flipped = set(rng.choice(1200, 60, replace=False).tolist())
    fit = next(n for n in result.nodes if n.operator_type.name == "ESTIMATOR")
    return flipped & set(result.dag_node_to_inspection_results[fit][ModelInputs()].lineage["source0"].tolist())


LABEL_ISSUE_PATHS = ["fallback"] + (["cleanlab"] if importlib.util.find_spec("cleanlab") else [])


@pytest.fixture(params=LABEL_ISSUE_PATHS)
def label_issue_path(request, monkeypatch):
    """Runs a test with cleanlab's find_label_issues and with our own implementation (cleanlab hidden)."""
    if request.param == "fallback":
        monkeypatch.setitem(sys.modules, "cleanlab.filter", None)
    return request.param


def test_label_errors_are_found_as_source_rows_and_agree_with_data_value(label_issue_path):
    result = run(NOISY, [NoLabelErrors(), NoLabelErrors(0.5)], [DataValue(5)])
    verdict = result.check_to_check_results[NoLabelErrors()]
    assert verdict.status is CheckStatus.FAILURE and "(noise-rate; probabilities from clones of LogisticRegression)" \
        in verdict.description
    table = verdict.details["label_issues"]
    people, extra = (c for c in table.columns if c.endswith(" row"))
    assert people == "source0 row" and (table[people] == table[extra]).all()  # both sides of the join
    found, seeded = set(table["source0 row"].tolist()), flipped_training_rows(result)
    recall, precision = len(found & seeded) / len(seeded), len(found & seeded) / len(found)
    print(f"{label_issue_path}: recall {recall:.2f}, precision {precision:.2f} on {len(seeded)} flipped labels")
    # A flip right at the decision boundary looks like a correct label to any method.
    assert recall >= 0.8 and precision >= 0.85, (recall, precision)
    bottom = set(result.rows_to_fix("source0", 120)["row"].tolist())
    assert len(found & bottom) >= 0.8 * len(found)
    assert result.check_to_check_results[NoLabelErrors(0.5)].status is CheckStatus.SUCCESS
    with pytest.raises(ValueError, match="max_fraction must be a number between 0 and 1"):
        NoLabelErrors(5)
    with pytest.raises(ValueError, match="method must be one of noise-rate, disagreement, not 'all'"):
        NoLabelErrors(method="all")


def test_label_issues_by_the_confident_joint(label_issue_path):
    labels = np.array([0, 0, 0, 1, 1, 1, 1, 0])
    probabilities = np.array([[.9, .1], [.8, .2], [.1, .9], [.2, .8], [.3, .7], [.9, .1], [.55, .45], [.6, .4]])
    classes = np.array([0, 1])
    assert label_issues(labels, probabilities, classes).tolist() == [2, 5]
    assert label_issues(labels, probabilities, classes, "disagreement").tolist() == [2, 5, 6]


@pytest.fixture(scope="module")
def adult_like(tmp_path_factory):
    """The adult-like data (3000 people) with 5 % of the labels flipped, and each label's true probability.

    The generator draws each label at random from a probability given by the features; we read that
    probability by wrapping its sigmoid (its last call is the one for the label).
    """
    folder = tmp_path_factory.mktemp("adult_like")
    generator = _load(os.path.join(ROOT, "example_pipelines", "adult_like", "generate_data.py"))
    calls, sigmoid = [], generator._sigmoid
    generator._sigmoid = lambda x: (calls.append(np.asarray(x)), sigmoid(x))[1]
    frame = generator.generate(3000, 42)["adult"]
    probability = sigmoid(calls[-1])
    frame["income_bracket"] = frame["income_bracket"] == ">50K"
    flipped = np.random.default_rng(1).choice(len(frame), len(frame) // 20, replace=False)
    frame.loc[flipped, "income_bracket"] = ~frame.loc[flipped, "income_bracket"]
    frame.to_csv(folder / "adult.csv", index=False)
    given = np.where(frame["income_bracket"], probability, 1 - probability)
    return folder / "adult.csv", set(flipped.tolist()), given


def _load(path):
    spec = importlib.util.spec_from_file_location("adult_like_generator", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ADULT = """
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
data = pd.read_csv(PATH)
features = ColumnTransformer([
    ("c", OneHotEncoder(handle_unknown="ignore"), ["workclass", "education", "marital_status", "occupation",
                                                   "relationship", "race", "sex", "native_country"]),
    ("n", StandardScaler(), ["age", "education_num", "capital_gain", "hours_per_week"])])
train, test = train_test_split(data, random_state=0)
model = Pipeline([("f", features), ("m", LogisticRegression(max_iter=1000))]).fit(train, train["income_bracket"])
print(model.score(test, test["income_bracket"]))
"""


def test_label_errors_on_adult_like_data_against_the_bayes_ceiling(adult_like, label_issue_path, capsys):
    """Recall and precision on 5 % flipped labels of the adult-like data, next to what an oracle that knows
    each label's true probability gets by flagging every label that is the less likely class.

    The generator's labels are random given the features, so about a fifth of the flips turn a label into
    the *more* likely class; no method that flags unlikely labels finds those: the oracle's recall (about
    0.8) is the ceiling, and its precision (about 0.2) too, as many unflipped labels are the less likely class.
    """
    path, flipped, given = adult_like
    checks = [NoLabelErrors(), NoLabelErrors(method="disagreement")]
    result = run(ADULT.replace("PATH", repr(str(path))), checks)
    fit = next(n for n in result.nodes if n.operator_type.name == "ESTIMATOR")
    train = set(result.dag_node_to_inspection_results[fit][ModelInputs()].lineage["adult"].tolist())
    seeded = flipped & train
    unlikely = {row for row in train if given[row] < 0.5}  # the oracle's flags
    ceiling, oracle_precision = len(unlikely & seeded) / len(seeded), len(unlikely & seeded) / len(unlikely)
    figures = {}
    for check in checks:
        verdict = result.check_to_check_results[check]
        found = set(verdict.details["label_issues"]["adult row"].tolist())
        figures[check.method] = (len(found & seeded) / len(seeded), len(found & seeded) / len(found),
                                 len(found & seeded & unlikely) / len(seeded & unlikely))
    with capsys.disabled():
        print(f"\n{label_issue_path}: adult-like, {len(seeded)} flipped training labels: oracle recall {ceiling:.2f} precision "
              f"{oracle_precision:.2f}; " + "; ".join(f"{method}: recall {r:.2f} precision {p:.2f} (recall of "
                                                     f"the findable {f:.2f})" for method, (r, p, f) in figures.items()))
    assert 0.75 <= ceiling <= 0.85 and len(seeded) > 80
    recall, precision, findable = figures["noise-rate"]
    assert findable >= 0.75 and precision >= 0.9 * oracle_precision
    recall, precision, findable = figures["disagreement"]
    assert recall >= 0.8 and recall >= 0.95 * ceiling and findable >= 0.9 and precision >= 0.8 * oracle_precision


SHIFT = """
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
rng = np.random.default_rng(6)
data = pd.DataFrame({"a": rng.normal(size=600), "b": rng.normal(size=600)})
data["label"] = data["a"] > 0
train, test = data.iloc[:400], data.iloc[400:].copy()
test["b"] = test["b"] + SHIFT
LogisticRegression().fit(train[["a", "b"]], train["label"]).score(test[["a", "b"]], test["label"])
"""


def test_covariate_shift_names_the_separating_source_column():
    shifted = run(SHIFT.replace("SHIFT", "1.5"), [NoCovariateShift()]).check_to_check_results[NoCovariateShift()]
    assert shifted.status is CheckStatus.FAILURE and "(b, from source0.b)" in shifted.description
    assert shifted.details["separating_features"]["sources"].iloc[0] == "source0.b"
    assert run(SHIFT.replace("SHIFT", "0"), [NoCovariateShift()]).passed
    with pytest.raises(ValueError, match="threshold is an AUC between 0.5 and 1, not 0.2"):
        NoCovariateShift(0.2)
    assert parse_check_option("no-covariate-shift=0.7") == NoCovariateShift(0.7)


SEEDED = [  # script, check, start of the failure, the text of the operator's line in the script
    ("leaky_scaler", NoPreprocessingLeakage(), "Transformer at line 13:9 (StandardScaler: fit_transform) was fitted "
     "on test rows: 150 of its 600 rows of source0 are test rows of Score", "StandardScaler().fit_transform"),
    ("leaky_cross_validation", NoPreprocessingLeakage(), "Transformer at line 14:9 (StandardScaler: fit_transform) "
     "was fitted on rows a cross-validation holds out: 600 of its 600 rows of source0 are held out by GridSearchCV "
     "at line 15", "StandardScaler().fit_transform"),
    ("label_feature", NoPreprocessingLeakage(), "Estimator at line 14:8 (LogisticRegression: fit): target leakage, "
     "matrix column 1 (churn_score) is computed from the label's source column source0.label", ".fit(train"),
    ("shifted_test", NoCovariateShift(), "A classifier tells the training rows", "model.score"),
    ("flipped_labels", NoLabelErrors(), "", ".fit(train"),
    ("hashed_email", NoPersonalDataInFeatures(), "Estimator at line 17:8 (LogisticRegression: fit) uses source0.email "
     "(100% of its values look like emails)", ".fit(data"),
    ("constant_column", NoConstantFeatures(), "Estimator at line 19:8 (LogisticRegression: fit): matrix column 3 "
     "(categories__country_ch, from no source column (computed in the pipeline)) has one value only", ".fit(data"),
    ("unfair_filter", GroupFairness("group"), "accuracy on the test rows of Score at line 18:6", "model.score"),
]


@pytest.mark.parametrize("script, check, description, line_text", SEEDED, ids=[s[0] for s in SEEDED])
def test_each_seeded_example_fails_its_check_at_the_right_line(script, check, description, line_text):
    path = os.path.join(ROOT, "example_pipelines", "screening", f"{script}.py")
    result = PipelineInspector.on_pipeline(path).add_check(check).execute()
    verdict = result.check_to_check_results[check]
    assert result.internal_errors == [] and verdict.status is CheckStatus.FAILURE, verdict.description
    assert verdict.description.startswith(description), verdict.description
    line = next(i for i, text in enumerate(open(path), 1) if line_text in text)
    assert verdict.operator.code_location.lineno == line
