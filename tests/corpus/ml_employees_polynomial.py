"""Attrition: polynomial interactions of the numbers, target-encoded departments, review word counts.

corpus: source=employees.json key=emp_id text=review_text
"""
import sys

import pandas as pd
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler, TargetEncoder

data = sys.argv[1]
staff = pd.read_json(f"{data}/employees.json", lines=True)
staff["rating_change"] = staff["rating_2023"] - staff["rating_2022"]
print(staff.groupby("dept")["left"].mean().round(3))

features = make_column_transformer(
    (make_pipeline(StandardScaler(), PolynomialFeatures(2, include_bias=False)),
     make_column_selector(pattern="^(?:salary|tenure|rating_change)$")),
    (TargetEncoder(cv=KFold(5, shuffle=True, random_state=0)), ["dept"]),
    (CountVectorizer(max_features=15), "review_text"),
)
model = make_pipeline(features, LogisticRegression(max_iter=1000))
train, test = train_test_split(staff, test_size=0.3, random_state=5)
model.fit(train, train["left"])
print("features", model[:-1].transform(test).shape[1], "accuracy", round(model.score(test, test["left"]), 4))
