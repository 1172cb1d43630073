"""scikit-learn's long tail: factories, feature selection and decompositions, cross-validation,
duck-typed estimators. Lineage is compared with a brute-force reference (the fold indices
sklearn draws, applied to row ids), matrix column provenance with the kept columns."""
import textwrap

import numpy as np
import pytest

from conftest import locate, summarize
from lester_inspect import PipelineInspector
from lester_inspect.inspections import MatrixColumnProvenance, RowLineage

LINEAGE = RowLineage(RowLineage.ALL_ROWS)
MATRIX = MatrixColumnProvenance()
DATA = """\
import numpy as np
import pandas as pd
rng = np.random.default_rng(0)
df = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40), "c": rng.normal(size=40),
                   "cat": rng.choice(["x", "y", "z"], 40), "label": rng.choice([0, 1], 40)})
df["a"] = df["a"] + df["label"] * 3
"""


def run(code, *inspections):
    result = PipelineInspector.on_pipeline_from_string(code).add_inspections(list(inspections)).execute()
    assert result.internal_errors == []
    return result


def lineage_rows(result, node):
    frame = result.dag_node_to_inspection_results[node][LINEAGE]
    return [sorted(row for _, row in p.variables()) for p in frame["lineage"]]


def matrix(result, node):
    return result.dag_node_to_inspection_results[node][MATRIX]


def by_description(result, description):
    return [n for n in result.nodes if n.description == description]


def test_factories_construct_where_the_user_calls_them_and_selection_keeps_columns():
    code = DATA + textwrap.dedent("""\
        from sklearn.compose import make_column_selector, make_column_transformer
        from sklearn.feature_selection import SelectKBest
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler
        features = make_column_transformer((OneHotEncoder(), make_column_selector(dtype_include=object)),
                                           (StandardScaler(), ["a", "b", "c"]))
        model = make_pipeline(features, SelectKBest(k=2), LogisticRegression())
        model.fit(df[["a", "b", "c", "cat"]], df["label"])
        """)
    result = run(code, LINEAGE, MATRIX)
    assert summarize(result)[4:] == [
        (4, "TRAIN_DATA", "Train data", [2]),
        (5, "TRAIN_LABELS", "Train labels", [3]),
        (6, "PROJECTION", "Project: ['cat']", [4]),
        (7, "TRANSFORMER", "OneHotEncoder: fit_transform", [6]),
        (8, "PROJECTION", "Project: ['a', 'b', 'c']", [4]),
        (9, "TRANSFORMER", "StandardScaler: fit_transform", [8]),
        (10, "CONCATENATION", "Concatenate ColumnTransformer outputs", [7, 9]),
        # The selection learns from the labels: they are an input that carries no rows.
        (11, "TRANSFORMER", "SelectKBest: fit_transform", [10, 5]),
        (12, "ESTIMATOR", "LogisticRegression: fit", [11, 5]),
    ]
    nodes = result.nodes[1:]  # after the label's 'Set column'
    assert nodes[5].code_location.lineno == locate(code, "make_column_transformer(").lineno
    assert nodes[10].code_location == locate(code, "SelectKBest(k=2)")
    assert nodes[11].code_location == locate(code, 'model.fit(df[["a", "b", "c", "cat"]], df["label"])')
    from sklearn.feature_selection import SelectKBest
    from sklearn.preprocessing import StandardScaler

    plain = {}
    exec(compile(DATA, "<data>", "exec"), plain)
    frame = plain["df"]
    onehot = (frame[["cat"]].to_numpy() == np.array([["x", "y", "z"]])).astype(float)
    features = np.hstack([onehot, StandardScaler().fit_transform(frame[["a", "b", "c"]])])
    kept = SelectKBest(k=2).fit(features, frame["label"]).get_support(indices=True)
    names = ["cat", "cat", "cat", "a", "b", "c"]
    expected = {}
    for position, column in enumerate(kept):
        expected.setdefault(names[column], []).append((position, position + 1))
    assert matrix(result, nodes[10]) == {c: _merged(r) for c, r in expected.items()}
    assert nodes[10].columns == tuple(np.array(nodes[9].columns)[kept])
    assert lineage_rows(result, nodes[10]) == [[i] for i in range(40)]


def _merged(ranges):
    merged = []
    for start, stop in ranges:
        if merged and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], stop)
        else:
            merged.append((start, stop))
    return merged


def test_selections_decompositions_polynomials_and_target_encoding():
    result = run(DATA + """
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.feature_selection import SelectFromModel, VarianceThreshold
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import PolynomialFeatures, TargetEncoder
numbers = df[["a", "b", "c"]].assign(constant=1.0)
VarianceThreshold().fit_transform(numbers)
SelectFromModel(LogisticRegression(), max_features=1, threshold=-np.inf).fit_transform(numbers, df["label"])
PCA(n_components=2).fit_transform(df[["a", "b", "c"]])
TruncatedSVD(n_components=2).fit_transform(df[["a", "b", "c"]])
PolynomialFeatures(2).fit_transform(df[["a", "b"]])
TargetEncoder(random_state=0).fit_transform(df[["cat"]], df["label"])
""", LINEAGE, MATRIX)
    variance = by_description(result, "VarianceThreshold: fit_transform")[0]
    assert variance.columns == ("a", "b", "c")
    assert matrix(result, variance) == {"a": [(0, 1)], "b": [(1, 2)], "c": [(2, 3)]}
    from_model = by_description(result, "SelectFromModel: fit_transform")[0]
    assert from_model.columns == ("a",) and matrix(result, from_model) == {"a": [(0, 1)]}
    assert [p.description for p in result.parents(from_model)] == ["Assign constant = 1.0", "Project: ['label']"]
    for name in ("PCA", "TruncatedSVD"):
        mixed = by_description(result, f"{name}: fit_transform")[0]
        assert matrix(result, mixed) == {"a": [(0, 2)], "b": [(0, 2)], "c": [(0, 2)]}
    polynomial = by_description(result, "PolynomialFeatures: fit_transform")[0]
    assert polynomial.columns == ("1", "a", "b", "a^2", "a b", "b^2")
    assert matrix(result, polynomial) == {"a": [(1, 2), (3, 5)], "b": [(2, 3), (4, 6)]}
    encoder = by_description(result, "TargetEncoder: fit_transform")[0]
    assert [p.description for p in result.parents(encoder)] == ["Project: ['cat']", "Project: ['label']"]
    assert lineage_rows(result, encoder) == [[i] for i in range(40)]


def test_cross_val_score_folds_are_splits_with_the_rows_sklearn_used():
    code = DATA + """
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, cross_val_score
scores = cross_val_score(LogisticRegression(), df[["a", "b"]], df["label"], cv=KFold(3, shuffle=True, random_state=1))
print(scores.round(6).tolist())
"""
    result = run(code, LINEAGE)
    plain = {}
    exec(compile(code, "<plain>", "exec"), plain)
    from sklearn.model_selection import KFold

    folds = list(KFold(3, shuffle=True, random_state=1).split(np.zeros(40)))
    assert summarize(result)[2:14] == [
        (2, "PROJECTION", "Project: ['a', 'b']", [1]),
        (3, "PROJECTION", "Project: ['label']", [1]),
        (4, "TRAIN_TEST_SPLIT", "Fold 1/3: train rows", [2]),
        (5, "TRAIN_TEST_SPLIT", "Fold 1/3: train rows of labels", [3]),
        (6, "TRAIN_DATA", "Train data", [4]),
        (7, "TRAIN_LABELS", "Train labels", [5]),
        (8, "ESTIMATOR", "LogisticRegression: fit", [6, 7]),
        (9, "TRAIN_TEST_SPLIT", "Fold 1/3: test rows", [2]),
        (10, "TRAIN_TEST_SPLIT", "Fold 1/3: test rows of labels", [3]),
        (11, "TEST_DATA", "Test data", [9]),
        (12, "TEST_LABELS", "Test labels", [10]),
        (13, "SCORE", "LogisticRegression: score", [11, 12, 8]),
    ]
    assert len(result.nodes) == 4 + 3 * 10
    train_data = [n for n in result.nodes if n.operator_type.name == "TRAIN_DATA"]
    test_data = [n for n in result.nodes if n.operator_type.name == "TEST_DATA"]
    for (train, test), train_node, test_node in zip(folds, train_data, test_data):
        assert lineage_rows(result, train_node) == [[int(i)] for i in train]
        assert lineage_rows(result, test_node) == [[int(i)] for i in test]
    location = locate(code, "cross_val_score(LogisticRegression(), df[")
    assert train_data[0].code_location.lineno == location.lineno


def test_cross_val_predict_and_cross_validate_with_a_pipeline():
    code = DATA + """
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
predicted = cross_val_predict(make_pipeline(StandardScaler(), LogisticRegression()), df[["a", "b"]], df["label"], cv=2)
report = cross_validate(LogisticRegression(), df[["a", "b"]], df["label"], cv=2, return_train_score=True)
print(predicted.tolist(), sorted(report))
"""
    result = run(code, LINEAGE)
    plain = {}
    exec(compile(code, "<plain>", "exec"), plain)
    prediction = [n for n in result.nodes if n.description.endswith("cross_val_predict over 2 folds")][0]
    assert prediction.operator_type.name == "PREDICT"
    assert lineage_rows(result, prediction) == [[i] for i in range(40)]
    scalers = [n for n in result.nodes if n.description == "StandardScaler: fit_transform"]
    assert len(scalers) == 2
    splits = [n.description for n in result.nodes if n.operator_type.name == "TRAIN_TEST_SPLIT"
              and "of labels" not in n.description]
    # cross_validate scores each fold's model on its test rows and (return_train_score) its train rows.
    assert splits[4:] == ["Fold 1/2: train rows", "Fold 1/2: test rows", "Fold 2/2: train rows",
                          "Fold 2/2: test rows"]
    assert len([n for n in result.nodes if n.operator_type.name == "SCORE"]) == 4


class_code = """
class Centroids:
    '''A classifier with scikit-learn's API that does not derive from BaseEstimator.'''

    def fit(self, X, y):
        X, y = np.asarray(X), np.asarray(y)
        self.classes_ = np.unique(y)
        self.centres_ = np.array([X[y == c].mean(axis=0) for c in self.classes_])
        return self

    def predict(self, X):
        distances = ((np.asarray(X)[:, None, :] - self.centres_[None, :, :]) ** 2).sum(axis=2)
        return self.classes_[distances.argmin(axis=1)]

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        return self
"""


def test_duck_typed_estimators_directly_and_in_a_pipeline():
    code = DATA + class_code + """
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
model = Centroids()
model.fit(df[["a", "b"]], df["label"])
print(model.predict(df[["a", "b"]])[:5])
piped = Pipeline([("scale", StandardScaler()), ("centroids", Centroids())]).fit(df[["a", "b"]], df["label"])
"""
    result = run(code, LINEAGE)
    assert [(n.operator_type.name, n.description) for n in result.nodes if n.description.startswith("Centroids")] == [
        ("ESTIMATOR", "Centroids: fit"), ("PREDICT", "Centroids: predict"), ("ESTIMATOR", "Centroids: fit")]
    fit = by_description(result, "Centroids: fit")[0]
    assert fit.code_location == locate(code, 'model.fit(df[["a", "b"]], df["label"])')
    assert [p.operator_type.name for p in result.parents(fit)] == ["TRAIN_DATA", "TRAIN_LABELS"]
    piped_fit = by_description(result, "Centroids: fit")[1]
    assert [p.description for p in result.parents(piped_fit)][0] == "StandardScaler: fit_transform"


def test_xgboost_classifier_is_an_estimator():
    xgboost = pytest.importorskip("xgboost", reason="xgboost is optional (not in the [test] extra)")
    del xgboost
    result = run(DATA + """
from xgboost import XGBClassifier
model = XGBClassifier(n_estimators=3, max_depth=2).fit(df[["a", "b"]], df["label"])
model.predict(df[["a", "b"]])
""", LINEAGE)
    assert [(n.operator_type.name, n.description) for n in result.nodes][4:] == [
        ("TRAIN_DATA", "Train data"), ("TRAIN_LABELS", "Train labels"), ("ESTIMATOR", "XGBClassifier: fit"),
        ("PROJECTION", "Project: ['a', 'b']"), ("TEST_DATA", "Test data"), ("PREDICT", "XGBClassifier: predict")]
