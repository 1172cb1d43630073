"""A modelling table assembled column by column from Series: DataFrame(dict), from_dict, value counts.

corpus: source=loans.tsv key=loan_id text=purpose
"""
import sys

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

data = sys.argv[1]
loans = pd.read_table(f"{data}/loans.tsv")
grade_share = loans["grade"].value_counts(normalize=True)
print(grade_share.round(3))
table = pd.DataFrame({
    "loan_id": loans["loan_id"],
    "purpose": loans["purpose"],
    "long_term": loans["term"] == 60,
    "grade_share": loans["grade"].map(grade_share),
    "amount_k": loans["amount"] / 1000,
})
labels = pd.DataFrame.from_dict({"loan_id": loans["loan_id"], "defaulted": loans["defaulted"]})
table = table.merge(labels, on="loan_id")
print(table.isna().sum().sum())

X_train, X_test, y_train, y_test = train_test_split(table[["long_term", "grade_share", "amount_k", "purpose"]],
                                                    table["defaulted"], test_size=0.25, random_state=0)
model = Pipeline([
    ("features", ColumnTransformer([("num", "passthrough", ["long_term", "grade_share", "amount_k"]),
                                    ("text", CountVectorizer(), "purpose")])),
    ("classifier", LogisticRegression(max_iter=500)),
])
model.fit(X_train, y_train)
print("accuracy", round(model.score(X_test, y_test), 4))
