"""Customer master data corrected from a hand-written list: combine_first and update by customer id.

corpus: source=customers.csv key=customer_id text=notes
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
customers = pd.read_csv(f"{data}/customers.csv").set_index("customer_id")
corrections = pd.DataFrame.from_records(
    [("C0003", 41.0, "Paris"), ("C0010", 29.0, "Rome"), ("C0042", 55.0, "Berlin")],
    columns=["customer_id", "age", "city"]).set_index("customer_id")
defaults = pd.DataFrame.from_dict({"age": {"C0001": 33.0, "C0002": 47.0}})

customers.update(corrections)
customers[["age"]] = customers[["age"]].combine_first(defaults)
customers["age"] = customers["age"].fillna(customers["age"].median())
customers = customers.sort_index()
print(customers.loc[["C0003", "C0010"], ["age", "city"]])

customers = customers.reset_index()
customers["old"] = customers["age"] > 50
X = customers[["city", "segment", "old", "notes"]]
y = customers["churned"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
model = Pipeline([
    ("features", ColumnTransformer([
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["city", "segment", "old"]),
        ("text", TfidfVectorizer(), "notes"),
    ])),
    ("classifier", LogisticRegression(max_iter=500)),
])
model.fit(X_train, y_train)
print("accuracy", round(model.score(X_test, y_test), 4))
