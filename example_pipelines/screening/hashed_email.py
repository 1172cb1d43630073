"""Seeded issue: the customers' emails are hashed into features (NoPersonalDataInFeatures)."""
import os
import sys

from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _data import customers  # noqa: E402

data = customers()
features = ColumnTransformer([("email", HashingVectorizer(n_features=16), "email"),
                              ("numbers", StandardScaler(), ["income", "tenure"])])
model = Pipeline([("features", features), ("model", LogisticRegression())]).fit(data, data["label"])
