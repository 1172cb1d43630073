"""Cleaning duplicated orders: duplicated masks, drop_duplicates, top-N per customer, masking outliers.

corpus: source=orders.csv key=order_id text=review
"""
import sys

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

data = sys.argv[1]
orders = pd.read_csv(f"{data}/orders.csv")
doubled = pd.concat([orders, orders.sample(50, random_state=0)], ignore_index=True)
print(doubled.duplicated().sum(), doubled.duplicated(subset=["order_id"], keep=False).sum())
orders = doubled.drop_duplicates(subset=["order_id"]).copy()
high = orders["amount"].quantile(0.95)
orders["amount"] = orders["amount"].mask(orders["amount"] > high, high)
orders["rank_in_customer"] = orders.groupby("customer_id")["amount"].rank(ascending=False, method="first")
top = orders[orders["rank_in_customer"] <= 3]
print(top.nlargest(5, "amount")[["order_id", "amount"]])
top = top.assign(size_band=pd.cut(top["quantity"], bins=[0, 1, 3, 10], labels=["one", "few", "many"]))

X = top[["channel", "size_band", "rank_in_customer", "amount", "review"]]
y = top["returned"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
model = Pipeline([
    ("features", ColumnTransformer([
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["channel", "size_band"]),
        ("num", "passthrough", ["rank_in_customer", "amount"]),
        ("text", TfidfVectorizer(), "review"),
    ])),
    ("classifier", LogisticRegression(max_iter=500)),
])
model.fit(X_train, y_train)
print("accuracy", round(model.score(X_test, y_test), 4))
