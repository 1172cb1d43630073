"""Hand-built numeric features: several columns set at once, element-wise maps, Series from arrays.

corpus: source=customers.csv key=customer_id text=notes
"""
import sys

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

data = sys.argv[1]
customers = pd.read_csv(f"{data}/customers.csv")
customers["age"] = customers["age"].fillna(customers["age"].mean())
numeric = ["age", "income"]
customers[["age_z", "income_z"]] = (customers[numeric] - customers[numeric].mean()) / customers[numeric].std()
customers[["age_z", "income_z"]] = customers[["age_z", "income_z"]].map(lambda v: round(v, 3))
customers["income_log"] = pd.Series(customers["income"].to_numpy(), index=customers.index).map(np.log1p)
is_pro = pd.Series((customers["segment"] == "pro").to_numpy(), index=customers.index, name="is_pro")
customers["is_pro"] = is_pro.astype(int)
print(customers[["age_z", "income_z", "income_log", "is_pro"]].describe().round(2))

features = ["age_z", "income_z", "income_log", "is_pro"]
X_train, X_test, y_train, y_test = train_test_split(customers[features + ["notes"]], customers["churned"],
                                                    test_size=0.25, random_state=4)
model = Pipeline([
    ("features", ColumnTransformer([("num", "passthrough", features),
                                    ("text", HashingVectorizer(n_features=64), "notes")])),
    ("classifier", LogisticRegression(max_iter=500)),
])
model.fit(X_train, y_train)
print("accuracy", round(model.score(X_test, y_test), 4))
