"""Seeded issue: 5 % of the labels are flipped (NoLabelErrors; DataValue ranks them lowest)."""
import os
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _data import customers  # noqa: E402

data = customers(1000)
FLIPPED = np.random.default_rng(1).choice(len(data), len(data) // 20, replace=False)
data["label"] = np.where(data["customer"].isin(FLIPPED), 1 - data["label"], data["label"])
train, test = train_test_split(data, random_state=0)
model = LogisticRegression().fit(train[["income", "tenure"]], train["label"])
print(model.score(test[["income", "tenure"]], test["label"]))
