"""Features computed in a Python loop over rows, then put back into a frame (a notebook habit).

The rows leave pandas in ``iterrows``: the rebuilt frame's provenance is unknown, and says where.

corpus: source=customers.csv key=customer_id text=notes expect-cut=iterrows
"""
import sys

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

data = sys.argv[1]
customers = pd.read_csv(f"{data}/customers.csv")
rows = []
for _, customer in customers.iterrows():
    words = customer["notes"].split()
    rows.append({"customer_id": customer["customer_id"], "notes": customer["notes"], "n_words": len(words),
                 "mentions_price": int("price" in words), "churned": customer["churned"]})
features = pd.DataFrame(rows)
print(features["n_words"].mean())

X_train, X_test, y_train, y_test = train_test_split(features[["n_words", "mentions_price", "notes"]],
                                                    features["churned"], test_size=0.25, random_state=0)
model = Pipeline([
    ("features", ColumnTransformer([("num", "passthrough", ["n_words", "mentions_price"]),
                                    ("text", CountVectorizer(), "notes")])),
    ("classifier", LogisticRegression(max_iter=500)),
])
model.fit(X_train, y_train)
print("accuracy", round(model.score(X_test, y_test), 4))
