"""Predict which patients have more complications than usual for their age.

Usage: ``python pipeline.py [DATA_DIR]``; DATA_DIR defaults to ``data/`` next
to this script.
"""

import os
import sys
import zlib

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from lester_inspect.models import TorchMLPClassifier

COUNTIES_OF_INTEREST = ["county2", "county3"]


class NameEmbedder(TransformerMixin, BaseEstimator):
    """Embed a text column into ``dimension`` floats by hashing character trigrams.

    Each trigram of the lower-cased, padded name is hashed with CRC-32 into
    one of ``dimension`` buckets with a sign; the vector is L2-normalised.
    Every distinct name is embedded once, so large columns with few distinct
    names are cheap. Missing names embed to the zero vector.
    """

    def __init__(self, dimension=16):
        self.dimension = dimension

    def fit(self, X, y=None):
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        names = pd.Series(np.asarray(X, dtype=object)[:, 0]).fillna("").astype(str)
        codes, distinct_names = pd.factorize(names)
        table = np.array([self._embed(name) for name in distinct_names]).reshape(-1, self.dimension)
        return table[codes]

    def _embed(self, name):
        vector = np.zeros(self.dimension)
        padded = f"^{name.lower()}$"
        for start in range(len(padded) - 2):
            hashed = zlib.crc32(padded[start : start + 3].encode("utf-8"))
            vector[hashed % self.dimension] += 1.0 if (hashed >> 31) & 1 else -1.0
        norm = np.linalg.norm(vector)
        return vector / norm if norm > 0 else vector

    def get_feature_names_out(self, input_features=None):
        prefix = "name" if input_features is None else input_features[0]
        return np.array([f"{prefix}_embedding{i}" for i in range(self.dimension)], dtype=object)


data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")

patients = pd.read_csv(os.path.join(data_dir, "patients.csv"), na_values="?")
histories = pd.read_csv(os.path.join(data_dir, "histories.csv"), na_values="?")

data = patients.merge(histories, on=["ssn"])
complications = data.groupby("age_group").agg(mean_complications=("complications", "mean"))
data = data.merge(complications, on=["age_group"])
data["label"] = data["complications"] > 1.2 * data["mean_complications"]
data = data[["smoker", "last_name", "county", "num_children", "race", "income", "label"]]
data = data[data["county"].isin(COUNTIES_OF_INTEREST)]

impute_and_one_hot_encode = Pipeline(
    [
        ("impute", SimpleImputer(strategy="most_frequent")),
        ("encode", OneHotEncoder(sparse_output=False, handle_unknown="ignore")),
    ]
)
featurisation = ColumnTransformer(
    transformers=[
        ("impute_and_one_hot_encode", impute_and_one_hot_encode, ["smoker", "county", "race"]),
        ("word2vec", NameEmbedder(dimension=16), ["last_name"]),
        ("numeric", StandardScaler(), ["num_children", "income"]),
    ],
    remainder="drop",
)
pipeline = Pipeline(
    [
        ("features", featurisation),
        ("learner", TorchMLPClassifier(hidden_layer_sizes=(16,), epochs=10, batch_size=256, random_state=0)),
    ]
)

train_data, test_data = train_test_split(data, random_state=0)
model = pipeline.fit(train_data, train_data["label"])
print(f"Mean accuracy: {model.score(test_data, test_data['label']):.4f}")
