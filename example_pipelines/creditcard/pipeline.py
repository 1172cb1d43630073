"""Predict the sentiment of customer mails to a bank (declarative version).

Usage: ``python pipeline.py [DATA_DIR]``; DATA_DIR defaults to ``data/`` next
to this script and must contain ``mails.csv`` and ``customers.csv``.

This is the pipeline of ``messy_pipeline.py`` written with pandas and
scikit-learn, so that lester-inspect can track the provenance of every row,
column and feature-matrix column.
"""

import os
import sys

from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import pandas as pd

from lester_inspect.models import TorchMLPClassifier

FIRST_DAY = "2021-01-01"
COUNTRIES = ["DE", "FR", "GB", "NL"]


class WordCountTransformer(TransformerMixin, BaseEstimator):
    """The number of whitespace-separated words of a single text column."""

    def fit(self, X, y=None):
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        texts = pd.DataFrame(X).iloc[:, 0]
        return texts.str.split().str.len().to_numpy(dtype=float).reshape(-1, 1)

    def get_feature_names_out(self, input_features=None):
        prefix = "text" if input_features is None else input_features[0]
        return [f"{prefix}_word_count"]


def prepare_data(mails_path, customers_path):
    """Recent mails of customers in the countries of interest, with title, text and premium flag."""
    mails = pd.read_csv(mails_path)
    customers = pd.read_csv(customers_path)
    mails = mails[mails["date"] >= FIRST_DAY]
    customers = customers[customers["country"].isin(COUNTRIES)]
    data = mails.merge(customers, on="customer_id")
    data["title"] = data["mail_subject"].str.lower()
    data["text"] = data["title"] + " " + data["mail_text"].str.lower()
    data["is_premium"] = data["customer_segment"] == "premium"
    return data


def encode_features():
    """Hashed words of title and text, the scaled title length, the country and the premium flag."""
    return ColumnTransformer(
        [
            ("title", HashingVectorizer(n_features=2**5), "title"),
            ("text", HashingVectorizer(n_features=2**7), "text"),
            ("title_length", Pipeline([("count", WordCountTransformer()), ("scale", StandardScaler())]), ["title"]),
            ("country", OneHotEncoder(handle_unknown="ignore"), ["country"]),
            ("is_premium", "passthrough", ["is_premium"]),
        ]
    )


def extract_label(df):
    return (df["sentiment"] == "positive").astype(int)


if __name__ == "__main__":
    data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
    data = prepare_data(os.path.join(data_dir, "mails.csv"), os.path.join(data_dir, "customers.csv"))
    train_data, test_data = train_test_split(data, test_size=0.2, random_state=42)

    pipeline = Pipeline(
        [
            ("features", encode_features()),
            ("model", TorchMLPClassifier(hidden_layer_sizes=(16,), epochs=10, batch_size=64, learning_rate=1e-2,
                                         random_state=0)),
        ]
    )
    pipeline.fit(train_data, extract_label(train_data))
    print(f"Test accuracy: {pipeline.score(test_data, extract_label(test_data)):.4f}")
