"""Seeded issue: a feature computed from the label (NoPreprocessingLeakage, target leakage)."""
import os
import sys

from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _data import customers  # noqa: E402

data = customers()
data["churn_score"] = data["label"] * 0.8 + data["tenure"] * 0.2
train, test = train_test_split(data, random_state=0)
model = LogisticRegression().fit(train[["income", "churn_score"]], train["label"])
print(model.score(test[["income", "churn_score"]], test["label"]))
