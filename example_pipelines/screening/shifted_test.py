"""Seeded issue: the test customers come from a later period with higher incomes (NoCovariateShift)."""
import os
import sys

from sklearn.linear_model import LogisticRegression

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _data import customers  # noqa: E402

data = customers()
train, test = data.iloc[:450], data.iloc[450:].copy()
test["income"] = test["income"] + 1.5
model = LogisticRegression().fit(train[["income", "tenure"]], train["label"])
print(model.score(test[["income", "tenure"]], test["label"]))
