"""Spend per channel as a pivot table, joined back to customers for a churn model.

corpus: source=customers.csv key=customer_id text=notes
"""
import sys

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

data = sys.argv[1]
customers = pd.read_csv(f"{data}/customers.csv")
orders = pd.read_csv(f"{data}/orders.csv")

spend = orders.pivot_table(index="customer_id", columns="channel", values="amount", aggfunc="sum", fill_value=0)
spend.columns = [f"spend_{c}" for c in spend.columns]
spend = spend.reset_index()
print(spend.head())

counts = orders.groupby("customer_id", as_index=False).agg(n_orders=("order_id", "count"),
                                                           mean_amount=("amount", "mean"))
frame = customers.merge(spend, on="customer_id", how="left").merge(counts, on="customer_id", how="left")
numeric = ["spend_app", "spend_store", "spend_web", "n_orders", "mean_amount"]
frame[numeric] = frame[numeric].fillna(0)
frame = frame.sort_values("customer_id")
print(frame[numeric].describe().round(2))

X = frame[numeric + ["notes"]]
y = frame["churned"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=1)
model = Pipeline([
    ("features", ColumnTransformer([("num", StandardScaler(), numeric), ("text", CountVectorizer(), "notes")])),
    ("tree", DecisionTreeClassifier(max_depth=4, random_state=0)),
])
model.fit(X_train, y_train)
print("accuracy", round(model.score(X_test, y_test), 4))
