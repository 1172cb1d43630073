"""Order returns with a home-made model that has scikit-learn's fit/predict but no BaseEstimator,
plus a random-noise column (a seeded np.random draw) as a robustness baseline.

corpus: source=orders.csv key=order_id text=review
"""
import sys

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.model_selection import train_test_split


class NearestCentroid:
    """Assigns each row to the class with the closest mean row."""

    def __init__(self, shrink=0.0):
        self.shrink = shrink

    def fit(self, X, y):
        X, y = np.asarray(X, dtype=float), np.asarray(y)
        self.classes_ = np.unique(y)
        centre = X.mean(axis=0)
        self.centroids_ = np.array([(1 - self.shrink) * X[y == c].mean(axis=0) + self.shrink * centre
                                    for c in self.classes_])
        return self

    def predict(self, X):
        X = np.asarray(X, dtype=float)
        distances = ((X[:, None, :] - self.centroids_[None, :, :]) ** 2).sum(axis=2)
        return self.classes_[distances.argmin(axis=1)]


data = sys.argv[1]
orders = pd.read_csv(f"{data}/orders.csv")
rng = np.random.default_rng(42)
noise = rng.normal(size=len(orders))
text = HashingVectorizer(n_features=16, alternate_sign=False).fit_transform(orders["review"]).toarray()
numbers = orders[["amount", "quantity"]].to_numpy()
numbers = (numbers - numbers.mean(axis=0)) / numbers.std(axis=0)
X = np.column_stack([numbers, text, noise])
y = orders["returned"].to_numpy()
print(X.shape, round(float(np.abs(X).sum()), 3))

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
model = NearestCentroid(shrink=0.2)
model.fit(X_train, y_train)
predicted = model.predict(X_test)
print("accuracy", round(float((predicted == y_test).mean()), 4))
