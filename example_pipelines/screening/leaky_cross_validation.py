"""Seeded issue: the scaler is fitted on all rows before a grid search cross-validates on them, so every fold's
validation rows were seen by the scaler (NoPreprocessingLeakage)."""
import os
import sys

from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _data import customers  # noqa: E402

data = customers()
scaled = StandardScaler().fit_transform(data[["income", "tenure"]])
search = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0, 10.0]}, cv=5).fit(scaled, data["label"])
print(search.best_params_, round(search.best_score_, 3))
