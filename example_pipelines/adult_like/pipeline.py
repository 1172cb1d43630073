"""Predict whether a person earns more than 50K a year from census attributes.

Usage: ``python pipeline.py [DATA_DIR]``; DATA_DIR defaults to ``data/`` next
to this script.
"""

import os
import sys

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import KBinsDiscretizer, OneHotEncoder, StandardScaler, label_binarize
from sklearn.tree import DecisionTreeClassifier

data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")

data = pd.read_csv(os.path.join(data_dir, "adult.csv"), na_values="?")
data = data.dropna()
labels = label_binarize(data["income_bracket"], classes=[">50K", "<=50K"]).ravel()

featurisation = ColumnTransformer(
    transformers=[
        (
            "categorical",
            OneHotEncoder(handle_unknown="ignore"),
            ["workclass", "education", "marital_status", "occupation", "relationship", "race", "sex", "native_country"],
        ),
        ("numeric", StandardScaler(), ["education_num", "capital_gain", "hours_per_week"]),
        ("age_bins", KBinsDiscretizer(n_bins=5, encode="ordinal", strategy="quantile"), ["age"]),
    ]
)
pipeline = Pipeline(
    [
        ("features", featurisation),
        ("learner", DecisionTreeClassifier(max_depth=8, random_state=0)),
    ]
)

train_data, test_data, train_labels, test_labels = train_test_split(data, labels, test_size=0.2, random_state=0)
model = pipeline.fit(train_data, train_labels)
print(f"Test accuracy: {model.score(test_data, test_labels):.4f}")
