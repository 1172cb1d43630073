"""``pipelines/train.py`` as a pull request changes it: train only on applicants with a credit history.

The new filter (line 26) looks harmless, but most applicants of ``race3`` have no credit
history: the gate's ``no-bias-introduced-for`` check fails on it.

Usage: ``python pipelines/train.py [DATA_DIR]``; DATA_DIR defaults to ``data/`` of the
demo repository.
"""

import os
import sys

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

repository = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(repository, "data")

applicants = pd.read_csv(os.path.join(data_dir, "applicants.csv"))
applicants["debt_ratio"] = applicants["debt"] / applicants["income"]
train_data, test_data = train_test_split(applicants, test_size=0.3, random_state=0)
train_data = train_data[train_data["has_credit_history"]]

featurisation = ColumnTransformer(
    transformers=[
        ("numeric", StandardScaler(), ["income", "debt_ratio", "years_employed"]),
        ("region", OneHotEncoder(handle_unknown="ignore"), ["region"]),
    ]
)
pipeline = Pipeline([("features", featurisation), ("learner", LogisticRegression())])
model = pipeline.fit(train_data, train_data["approved"])
print(f"Test accuracy: {model.score(test_data, test_data['approved']):.4f}")
