"""Customer churn, notebook style: dates, bins, one-hot encoding with pd.get_dummies.

corpus: source=customers.csv key=customer_id text=notes
"""
import sys

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

data = sys.argv[1]
customers = pd.read_csv(f"{data}/customers.csv")
print(customers.shape)
print(customers.isna().sum())
print(customers["segment"].value_counts())

customers["signup"] = pd.to_datetime(customers["signup"])
customers["signup_month"] = customers["signup"].dt.month
customers["tenure_days"] = (pd.Timestamp("2024-01-01") - customers["signup"]).dt.days
customers["age"] = customers["age"].fillna(customers["age"].median())
customers["age_band"] = pd.cut(customers["age"], bins=[0, 30, 45, 60, 120], labels=["young", "mid", "senior", "old"])
customers["income_q"] = pd.qcut(customers["income"], 4, labels=False)

encoded = pd.get_dummies(customers, columns=["city", "segment", "age_band"], dtype=float)
features = [c for c in encoded.columns if c.startswith(("city_", "segment_", "age_band_"))]
features += ["tenure_days", "income_q", "signup_month"]
print(len(features))

X = encoded[features + ["notes"]]
y = encoded["churned"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
model = Pipeline([
    ("features", ColumnTransformer([("num", "passthrough", features), ("text", TfidfVectorizer(), "notes")])),
    ("classifier", LogisticRegression(max_iter=300)),
])
model.fit(X_train, y_train)
print("accuracy", round(model.score(X_test, y_test), 4))
