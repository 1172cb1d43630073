"""Seeded issue: the scaler is fitted on all rows before the split (NoPreprocessingLeakage)."""
import os
import sys

from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _data import customers  # noqa: E402

data = customers()
scaled = StandardScaler().fit_transform(data[["income", "tenure"]])
X_train, X_test, y_train, y_test = train_test_split(scaled, data["label"], random_state=0)
print(LogisticRegression().fit(X_train, y_train).score(X_test, y_test))
