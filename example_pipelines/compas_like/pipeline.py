"""Predict a high COMPAS-like risk score from demographics and criminal history.

Usage: ``python pipeline.py [DATA_DIR]``; DATA_DIR defaults to ``data/`` next
to this script.
"""

import os
import sys

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import KBinsDiscretizer, OneHotEncoder, label_binarize

data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")

# Only empty fields are missing values: "N/A" is a score_text category of its own.
data = pd.read_csv(os.path.join(data_dir, "compas.csv"), na_values="", keep_default_na=False)
data = data[
    [
        "sex",
        "age",
        "c_charge_degree",
        "race",
        "score_text",
        "priors_count",
        "days_b_screening_arrest",
        "is_recid",
        "two_year_recid",
    ]
]
data = data[(data["days_b_screening_arrest"] <= 30) & (data["days_b_screening_arrest"] >= -30)]
data = data[data["is_recid"] != -1]
data = data[data["c_charge_degree"] != "O"]
data = data[data["score_text"] != "N/A"]
data = data.replace("Medium", "Low")

train_data, test_data = train_test_split(data, test_size=0.25, random_state=42)
train_labels = label_binarize(train_data["score_text"], classes=["High", "Low"]).ravel()
test_labels = label_binarize(test_data["score_text"], classes=["High", "Low"]).ravel()

impute_and_one_hot_encode = Pipeline(
    [
        ("impute", SimpleImputer(strategy="most_frequent")),
        ("encode", OneHotEncoder(handle_unknown="ignore")),
    ]
)
impute_and_bin = Pipeline(
    [
        ("impute", SimpleImputer(strategy="mean")),
        ("discretize", KBinsDiscretizer(n_bins=4, encode="ordinal", strategy="quantile")),
    ]
)
featurisation = ColumnTransformer(
    transformers=[
        ("categorical", impute_and_one_hot_encode, ["sex", "race", "c_charge_degree", "is_recid"]),
        ("binned", impute_and_bin, ["age", "priors_count"]),
    ]
)
pipeline = Pipeline(
    [
        ("features", featurisation),
        ("learner", LogisticRegression()),
    ]
)

model = pipeline.fit(train_data, train_labels)
print(f"Test accuracy: {model.score(test_data, test_labels):.4f}")
