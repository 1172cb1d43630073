"""A Kaggle-kernel-style cleaning pass: names split into parts, titles mapped, group medians imputed.

corpus: source=customers.csv key=customer_id text=notes
"""
import sys

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

data = sys.argv[1]
df = pd.read_csv(f"{data}/customers.csv")
print(df.head())
print(df.info() is None)

parts = df["name"].str.split(" ", expand=True)
df["title"] = parts[0]
df["number"] = parts[1].astype(int)
df["domain"] = df["email"].str.split("@").str[1]
df["age"] = df["age"].fillna(df.groupby("segment")["age"].transform("median"))
df["segment_code"] = df["segment"].map({"basic": 0, "plus": 1, "pro": 2})
df["city_freq"] = df["city"].map(df["city"].value_counts(normalize=True))
df = pd.get_dummies(df, columns=["city"], prefix="in", dtype=int)
df = df.drop(columns=["name", "email", "title", "domain", "signup"])
print(sorted(df.columns))

features = [c for c in df.columns if c not in ("customer_id", "churned", "notes", "segment")]
X_train, X_test, y_train, y_test = train_test_split(df[features + ["notes"]], df["churned"], test_size=0.25,
                                                    random_state=0)
model = Pipeline([
    ("features", ColumnTransformer([("num", "passthrough", features), ("text", CountVectorizer(), "notes")])),
    ("forest", RandomForestClassifier(n_estimators=20, random_state=0)),
])
model.fit(X_train, y_train)
print("accuracy", round(model.score(X_test, y_test), 4))
