"""Customer churn with hand-made numpy features: log/sqrt transforms, np.where/np.select flags,
TF-IDF of the notes and a sparse matrix stacked with scipy.sparse.hstack.

corpus: source=customers.csv key=customer_id text=notes
"""
import sys

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

data = sys.argv[1]
customers = pd.read_csv(f"{data}/customers.csv")
customers["age"] = customers["age"].fillna(customers["age"].median())

# numeric features the way kernels often build them: straight numpy on the columns
income = customers["income"].to_numpy()
age = customers["age"].to_numpy()
log_income = np.log1p(income)
young = np.where(age < 30, 1.0, 0.0)
tier = np.select([income > 40000, income > 20000], [2.0, 1.0], default=0.0)
age_scaled = np.sqrt(age) / np.sqrt(age.max())
numeric = np.column_stack([log_income, young, tier, age_scaled])
print(numeric.shape, round(float(numeric.mean()), 4))

words = TfidfVectorizer(max_features=30).fit_transform(customers["notes"])
X = sp.hstack([words, sp.csr_matrix(numeric)]).tocsr()
y = customers["churned"].to_numpy()
print(X.shape, y.mean().round(3))

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=1)
model = LogisticRegression(max_iter=500).fit(X_train, y_train)
print("accuracy", round(model.score(X_test, y_test), 4))
