"""Loan defaults: a wide feature matrix trimmed with VarianceThreshold and SelectKBest inside the pipeline.

corpus: source=loans.tsv key=loan_id text=purpose
"""
import sys

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.feature_selection import SelectKBest, VarianceThreshold, f_classif
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

data = sys.argv[1]
loans = pd.read_table(f"{data}/loans.tsv")
loans["log_amount"] = np.log10(loans["amount"])
loans["long_term"] = (loans["term"] == 60).astype(int)
print(loans["grade"].value_counts().sort_index())

features = ColumnTransformer([
    ("grade", OneHotEncoder(handle_unknown="ignore"), ["grade", "employment_years"]),
    ("numbers", SimpleImputer(), ["log_amount", "long_term"]),
    ("purpose", TfidfVectorizer(), "purpose"),
])
model = Pipeline([
    ("features", features),
    ("variance", VarianceThreshold(0.001)),
    ("best", SelectKBest(f_classif, k=12)),
    ("classifier", LogisticRegression(max_iter=500)),
])
train, test = train_test_split(loans, test_size=0.25, random_state=3, stratify=loans["defaulted"])
model.fit(train, train["defaulted"])
kept = model.named_steps["best"].get_support().sum()
print("kept features", kept, "accuracy", round(model.score(test, test["defaulted"]), 4))
