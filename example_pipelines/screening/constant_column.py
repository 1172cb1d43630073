"""Seeded issues: a column with one value, and a raw count next to scaled features (NoConstantFeatures,
NoUnnormalisedFeatures)."""
import os
import sys

from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _data import customers  # noqa: E402

data = customers()
data["country"] = "ch"
data["orders"] = (data["tenure"] * 10 + 40).round()
features = ColumnTransformer([("categories", OneHotEncoder(), ["city", "country"]),
                              ("numbers", StandardScaler(), ["income", "tenure"]), ("raw", "passthrough", ["orders"])])
model = Pipeline([("features", features), ("model", LogisticRegression(max_iter=1000))]).fit(data, data["label"])
