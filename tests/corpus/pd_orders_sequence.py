"""Per-customer order sequences: group-wise transform, rank, cumsum and shift, to predict returns.

corpus: source=orders.csv key=order_id text=review
"""
import sys

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

data = sys.argv[1]
orders = pd.read_csv(f"{data}/orders.csv")
orders["order_date"] = pd.to_datetime(orders["order_date"])
orders = orders.sort_values(["customer_id", "order_date"], kind="stable")

by_customer = orders.groupby("customer_id")
orders["customer_mean"] = by_customer["amount"].transform("mean")
orders["amount_rank"] = by_customer["amount"].rank(method="first")
orders["running_total"] = by_customer["amount"].cumsum()
orders["previous_amount"] = by_customer["amount"].shift(1).fillna(0)
orders["days_since"] = by_customer["order_date"].diff().dt.days.fillna(-1)
orders["weekday"] = orders["order_date"].dt.day_of_week
orders["relative"] = orders["amount"] / orders["customer_mean"]
print(orders[["amount", "customer_mean", "amount_rank", "running_total"]].head(8))

numeric = ["amount", "quantity", "customer_mean", "amount_rank", "running_total", "previous_amount",
           "days_since", "weekday", "relative"]
X_train, X_test, y_train, y_test = train_test_split(orders[numeric + ["review"]], orders["returned"],
                                                    test_size=0.25, random_state=0)
model = Pipeline([
    ("features", ColumnTransformer([("num", StandardScaler(), numeric), ("text", TfidfVectorizer(), "review")])),
    ("classifier", LogisticRegression(max_iter=500)),
])
model.fit(X_train, y_train)
print("accuracy", round(model.score(X_test, y_test), 4))
