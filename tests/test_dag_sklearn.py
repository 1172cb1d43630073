"""The DAG extracted from scikit-learn code: composites are expanded into their steps."""
import textwrap

import pandas as pd
import pytest

from conftest import locate, summarize

DATA = """
import numpy as np
import pandas as pd
rng = np.random.default_rng(0)
df = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60),
                   "cat": rng.choice(["x", "y", "z"], 60), "text": rng.choice(["red cat", "blue dog", "red dog"], 60),
                   "label": rng.choice(["yes", "no"], 60)})
"""


def test_pipeline_with_column_transformer_fit_and_score(inspect_code):
    code = DATA + textwrap.dedent("""\
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import train_test_split
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler
        categorical = Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                                ("encode", OneHotEncoder(sparse_output=False))])
        features = ColumnTransformer([("categorical", categorical, ["cat"]),
                                      ("numeric", StandardScaler(), ["a", "b"])])
        model = Pipeline([("features", features), ("learner", LogisticRegression())])
        train, test = train_test_split(df, random_state=0)
        model.fit(train, train["label"])
        print(model.score(test, test["label"]))
        """)
    result = inspect_code(code)
    assert summarize(result) == [
        (0, "DATA_SOURCE", "Create DataFrame from dict", []),
        (1, "TRAIN_TEST_SPLIT", "Split: train rows", [0]),
        (2, "TRAIN_TEST_SPLIT", "Split: test rows", [0]),
        (3, "PROJECTION", "Project: ['label']", [1]),
        (4, "TRAIN_DATA", "Train data", [1]),
        (5, "TRAIN_LABELS", "Train labels", [3]),
        (6, "PROJECTION", "Project: ['cat']", [4]),
        (7, "TRANSFORMER", "SimpleImputer: fit_transform", [6]),
        (8, "TRANSFORMER", "OneHotEncoder: fit_transform", [7]),
        (9, "PROJECTION", "Project: ['a', 'b']", [4]),
        (10, "TRANSFORMER", "StandardScaler: fit_transform", [9]),
        (11, "CONCATENATION", "Concatenate ColumnTransformer outputs", [8, 10]),
        (12, "ESTIMATOR", "LogisticRegression: fit", [11, 5]),
        (13, "PROJECTION", "Project: ['label']", [2]),
        (14, "TEST_DATA", "Test data", [2]),
        (15, "TEST_LABELS", "Test labels", [13]),
        (16, "PROJECTION", "Project: ['cat']", [14]),
        (17, "TRANSFORMER", "SimpleImputer: transform", [16]),
        (18, "TRANSFORMER", "OneHotEncoder: transform", [17]),
        (19, "PROJECTION", "Project: ['a', 'b']", [14]),
        (20, "TRANSFORMER", "StandardScaler: transform", [19]),
        (21, "CONCATENATION", "Concatenate ColumnTransformer outputs", [18, 20]),
        (22, "SCORE", "LogisticRegression: score", [21, 15, 12]),
    ]
    nodes = result.nodes
    # Steps called by sklearn point at the code that constructed them.
    assert nodes[7].code_location == locate(code, 'SimpleImputer(strategy="most_frequent")')
    assert nodes[8].code_location == locate(code, "OneHotEncoder(sparse_output=False)")
    # A model's fit and score point at the user's call, and remember where the model was constructed.
    assert nodes[12].code_location == locate(code, 'model.fit(train, train["label"])')
    assert result.dag.nodes[nodes[12]]["constructed_at"] == locate(code, "LogisticRegression()")
    assert nodes[22].code_location == locate(code, 'model.score(test, test["label"])')
    assert nodes[6].code_location == locate(code, 'ColumnTransformer([("categorical"', 1)._replace(
        end_lineno=nodes[6].code_location.end_lineno, end_col_offset=nodes[6].code_location.end_col_offset)
    assert nodes[6].source_code.startswith("ColumnTransformer([") and nodes[6].source_code.endswith('["a", "b"])])')
    # User calls point at the call.
    assert nodes[4].code_location == locate(code, 'model.fit(train, train["label"])')
    assert nodes[1].code_location == locate(code, "train_test_split(df, random_state=0)")
    assert nodes[8].columns == ("cat_x", "cat_y", "cat_z")
    assert nodes[11].columns == ("categorical__cat_x", "categorical__cat_y", "categorical__cat_z",
                                 "numeric__a", "numeric__b")
    assert nodes[12].function == ("sklearn.linear_model._logistic", "LogisticRegression.fit")


def test_every_listed_transformer_and_direct_calls(inspect_code):
    result = inspect_code(DATA + """
from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer, TfidfVectorizer
from sklearn.preprocessing import (FunctionTransformer, KBinsDiscretizer, MinMaxScaler, OrdinalEncoder,
                                   RobustScaler, label_binarize)
numbers = df[["a", "b"]]
MinMaxScaler().fit_transform(numbers)
RobustScaler().fit(numbers).transform(numbers)
KBinsDiscretizer(n_bins=3, encode="ordinal", quantile_method="averaged_inverted_cdf").fit_transform(numbers)
FunctionTransformer(np.abs).fit_transform(numbers)
OrdinalEncoder().fit_transform(df[["cat"]])
CountVectorizer().fit_transform(df["text"])
TfidfVectorizer().fit_transform(df["text"])
HashingVectorizer(n_features=8).fit_transform(df["text"])
y = label_binarize(df["label"], classes=["no", "yes"]).ravel()
""")
    assert summarize(result)[1:] == [
        (1, "PROJECTION", "Project: ['a', 'b']", [0]),
        (2, "TRANSFORMER", "MinMaxScaler: fit_transform", [1]),
        (3, "TRANSFORMER", "RobustScaler: fit", [1]),
        (4, "TRANSFORMER", "RobustScaler: transform", [1]),
        (5, "TRANSFORMER", "KBinsDiscretizer: fit_transform", [1]),
        (6, "TRANSFORMER", "FunctionTransformer: fit_transform", [1]),
        (7, "PROJECTION", "Project: ['cat']", [0]),
        (8, "TRANSFORMER", "OrdinalEncoder: fit_transform", [7]),
        (9, "PROJECTION", "Project: ['text']", [0]),
        (10, "TRANSFORMER", "CountVectorizer: fit_transform", [9]),
        (11, "PROJECTION", "Project: ['text']", [0]),
        (12, "TRANSFORMER", "TfidfVectorizer: fit_transform", [11]),
        (13, "PROJECTION", "Project: ['text']", [0]),
        (14, "TRANSFORMER", "HashingVectorizer: fit_transform", [13]),
        (15, "PROJECTION", "Project: ['label']", [0]),
        (16, "PROJECTION_MODIFY", "Binarize labels: classes ['no', 'yes']", [15]),
    ]
    assert result.nodes[10].columns == ("blue", "cat", "dog", "red")


def test_split_of_several_arrays_and_model_fit_predict(inspect_code):
    result = inspect_code(DATA + """
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import label_binarize
from sklearn.tree import DecisionTreeClassifier
labels = label_binarize(df["label"], classes=["no", "yes"]).ravel()
X_train, X_test, y_train, y_test = train_test_split(df[["a", "b"]], labels, test_size=0.25, random_state=0)
tree = DecisionTreeClassifier(random_state=0).fit(X_train, y_train)
predictions = tree.predict(X_test)
""")
    assert summarize(result)[1:] == [
        (1, "PROJECTION", "Project: ['label']", [0]),
        (2, "PROJECTION_MODIFY", "Binarize labels: classes ['no', 'yes']", [1]),
        (3, "PROJECTION", "Project: ['a', 'b']", [0]),
        (4, "TRAIN_TEST_SPLIT", "Split: train rows of argument 1", [3]),
        (5, "TRAIN_TEST_SPLIT", "Split: test rows of argument 1", [3]),
        (6, "TRAIN_TEST_SPLIT", "Split: train rows of argument 2", [2]),
        (7, "TRAIN_TEST_SPLIT", "Split: test rows of argument 2", [2]),
        (8, "TRAIN_DATA", "Train data", [4]),
        (9, "TRAIN_LABELS", "Train labels", [6]),
        (10, "ESTIMATOR", "DecisionTreeClassifier: fit", [8, 9]),
        (11, "TEST_DATA", "Test data", [5]),
        (12, "PREDICT", "DecisionTreeClassifier: predict", [11, 10]),
    ]


def test_feature_union_and_passthrough_remainder(inspect_code):
    result = inspect_code(DATA + """
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import StandardScaler
union = FeatureUnion([("scaled", StandardScaler()), ("pca", PCA(n_components=1))])
union.fit_transform(df[["a", "b"]])
ColumnTransformer([("scaled", StandardScaler(), ["a"])], remainder="passthrough").fit_transform(df[["a", "b"]])
""")
    assert summarize(result)[1:] == [
        (1, "PROJECTION", "Project: ['a', 'b']", [0]),
        (2, "TRANSFORMER", "StandardScaler: fit_transform", [1]),
        (3, "TRANSFORMER", "PCA: fit_transform", [1]),
        (4, "CONCATENATION", "Concatenate FeatureUnion outputs", [2, 3]),
        (5, "PROJECTION", "Project: ['a', 'b']", [0]),
        (6, "PROJECTION", "Project: ['a']", [5]),
        (7, "TRANSFORMER", "StandardScaler: fit_transform", [6]),
        (8, "PROJECTION", "Project: ['b']", [5]),
        (9, "CONCATENATION", "Concatenate ColumnTransformer outputs", [7, 8]),
    ]


def test_custom_transformer_and_estimator_are_operators(inspect_code):
    code = DATA + textwrap.dedent("""\
        from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
        from sklearn.pipeline import Pipeline

        class Doubler(TransformerMixin, BaseEstimator):
            def fit(self, X, y=None):
                return self

            def transform(self, X):
                doubled = X * 2
                return doubled[["a"]].to_numpy()

        class Majority(ClassifierMixin, BaseEstimator):
            def fit(self, X, y):
                self.majority_ = pd.Series(y).mode()[0]
                return self

            def predict(self, X):
                return np.full(len(X), self.majority_)

        pipeline = Pipeline([("double", Doubler()), ("vote", Majority())]).fit(df[["a", "b"]], df["label"])
        print(pipeline.predict(df[["a", "b"]])[:3])
        """)
    result = inspect_code(code)
    assert summarize(result)[1:] == [
        (1, "PROJECTION", "Project: ['a', 'b']", [0]),
        (2, "PROJECTION", "Project: ['label']", [0]),
        (3, "TRAIN_DATA", "Train data", [1]),
        (4, "TRAIN_LABELS", "Train labels", [2]),
        (5, "TRANSFORMER", "Doubler: fit_transform", [3]),
        (6, "ESTIMATOR", "Majority: fit", [5, 4]),
        (7, "PROJECTION", "Project: ['a', 'b']", [0]),
        (8, "TEST_DATA", "Test data", [7]),
        (9, "TRANSFORMER", "Doubler: transform", [8]),
        (10, "PREDICT", "Majority: predict", [9, 6]),
        (11, "SELECTION", "Select rows :3", [10]),  # the printed predictions[:3]
    ]
    assert result.nodes[5].code_location == locate(code, "Doubler()")


def test_grid_search_expands_only_the_refit(inspect_code):
    result = inspect_code(DATA + """
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
search = GridSearchCV(Pipeline([("scale", StandardScaler()), ("model", LogisticRegression())]),
                      {"model__C": [0.1, 1.0]}, cv=3)
search.fit(df[["a", "b"]], df["label"])
search.predict(df[["a", "b"]])
""")
    assert summarize(result)[1:] == [
        (1, "PROJECTION", "Project: ['a', 'b']", [0]),
        (2, "PROJECTION", "Project: ['label']", [0]),
        (3, "TRAIN_DATA", "Train data", [1]),
        (4, "TRAIN_LABELS", "Train labels", [2]),
        (5, "TRANSFORMER", "StandardScaler: fit_transform", [3]),
        (6, "ESTIMATOR", "LogisticRegression: fit", [5, 4]),
        (7, "PROJECTION", "Project: ['a', 'b']", [0]),
        (8, "TEST_DATA", "Test data", [7]),
        (9, "TRANSFORMER", "StandardScaler: transform", [8]),
        (10, "PREDICT", "LogisticRegression: predict", [9, 6]),
    ]


def test_torch_model_behind_sklearn_wrapper_is_an_estimator(inspect_code):
    result = inspect_code(DATA + """
from lester_inspect.models import TorchMLPClassifier
X = df[["a", "b"]].to_numpy()
model = TorchMLPClassifier(epochs=2, random_state=0).fit(X, df["label"])
""")
    assert summarize(result)[1:] == [
        (1, "PROJECTION", "Project: ['a', 'b']", [0]),
        (2, "PROJECTION", "Project: ['label']", [0]),
        (3, "TRAIN_DATA", "Train data", [1]),
        (4, "TRAIN_LABELS", "Train labels", [2]),
        (5, "ESTIMATOR", "TorchMLPClassifier: fit", [3, 4]),
    ]


def test_branches_without_feature_names_get_distinct_names(inspect_code):
    result = inspect_code(DATA + """
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import HashingVectorizer
ColumnTransformer([("t", HashingVectorizer(n_features=2), "text"), ("c", HashingVectorizer(n_features=2), "cat")]
                  ).fit_transform(df)
""")
    concatenation = result.nodes[-1]
    assert concatenation.columns == ("text_hashingvectorizer0", "text_hashingvectorizer1",
                                     "cat_hashingvectorizer0", "cat_hashingvectorizer1")
