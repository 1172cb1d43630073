"""Out-of-fold predictions with cross_val_predict, then a refit on train and test rows stacked back with np.vstack.

corpus: source=loans.tsv key=loan_id text=purpose
"""
import sys

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict, train_test_split
from sklearn.preprocessing import OneHotEncoder

data = sys.argv[1]
loans = pd.read_csv(f"{data}/loans.tsv", sep="\t")
grades = OneHotEncoder(sparse_output=False).fit_transform(loans[["grade"]])
purpose = TfidfVectorizer(max_features=20).fit_transform(loans["purpose"]).toarray()
amount = np.log(loans["amount"].to_numpy())
X = np.hstack([grades, purpose, amount.reshape(-1, 1)])
y = loans["defaulted"].to_numpy()

out_of_fold = cross_val_predict(LogisticRegression(max_iter=500), X, y, cv=5, method="predict_proba")
print("out-of-fold mean", round(float(out_of_fold[:, 1].mean()), 4))

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=2)
model = LogisticRegression(max_iter=500).fit(X_train, y_train)
print("holdout", round(model.score(X_test, y_test), 4))
everything = np.vstack([X_train, X_test])
labels = np.concatenate([y_train, y_test])
final = LogisticRegression(max_iter=500).fit(everything, labels)
print("refit on", everything.shape[0], "rows")
