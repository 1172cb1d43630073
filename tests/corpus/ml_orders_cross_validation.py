"""Returned orders: a make_pipeline/make_column_transformer model, evaluated with cross_val_score
and cross_validate before the final fit, as in most Kaggle kernels.

corpus: source=orders.csv key=order_id text=review
"""
import sys

import numpy as np
import pandas as pd
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

data = sys.argv[1]
orders = pd.read_csv(f"{data}/orders.csv")
orders["log_amount"] = np.log(orders["amount"])
orders["big"] = np.where(orders["quantity"] > 3, 1, 0)
print(orders[["log_amount", "big"]].describe().round(3))

features = make_column_transformer(
    (OneHotEncoder(handle_unknown="ignore"), make_column_selector(pattern="^channel$")),
    (StandardScaler(), ["log_amount", "quantity", "big"]),
    (CountVectorizer(min_df=3), "review"),
)
model = make_pipeline(features, LogisticRegression(max_iter=400))
X, y = orders[["channel", "log_amount", "quantity", "big", "review"]], orders["returned"]

scores = cross_val_score(model, X, y, cv=StratifiedKFold(3, shuffle=True, random_state=0))
print("cv accuracy", np.round(scores, 4), round(scores.mean(), 4))
report = cross_validate(model, X, y, cv=2, scoring="roc_auc", return_train_score=True)
print("train auc", np.round(report["train_score"], 3), "test auc", np.round(report["test_score"], 3))

model.fit(X, y)
print("fitted on", len(X), "orders")
