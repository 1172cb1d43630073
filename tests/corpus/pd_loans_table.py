"""Loan defaults from a tab-separated file: where/mask/clip, qcut, duplicated, string splits.

corpus: source=loans.tsv key=loan_id text=purpose
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
loans = pd.read_table(f"{data}/loans.tsv")
print(loans.dtypes)
loans = loans[~loans.duplicated(subset=["applicant"])]
loans["employment_years"] = loans["employment_years"].fillna("unknown")
years = {"<1": 0, "1-3": 2, "3-5": 4, "5+": 6, "unknown": -1}
loans["employment"] = loans["employment_years"].map(years)
words = loans["purpose"].str.split(" ", n=1, expand=True)
loans["first_word"] = words[0]
loans["amount_capped"] = loans["amount"].clip(upper=25000)
loans["small_amount"] = loans["amount"].where(loans["amount"] < 5000, 0)
loans["term_flag"] = loans["term"].mask(loans["term"] == 36, 0)
loans["amount_band"] = pd.qcut(loans["amount"], 5, labels=False)
loans["issued_year"] = pd.to_datetime(loans["issued"]).dt.year
print(loans["grade"].value_counts().sort_index())

categorical = ["grade", "first_word", "amount_band", "issued_year"]
numeric = ["amount_capped", "small_amount", "term_flag", "employment"]
X_train, X_test, y_train, y_test = train_test_split(loans[categorical + numeric + ["purpose"]], loans["defaulted"],
                                                    test_size=0.25, random_state=0)
model = Pipeline([
    ("features", ColumnTransformer([
        ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
        ("num", "passthrough", numeric),
        ("text", TfidfVectorizer(), "purpose"),
    ])),
    ("classifier", LogisticRegression(max_iter=1000)),
])
model.fit(X_train, y_train)
print("accuracy", round(model.score(X_test, y_test), 4))
