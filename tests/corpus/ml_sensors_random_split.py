"""Failure prediction with a legacy np.random mask as the train/test split, numpy arithmetic on
readings and a SelectFromModel step in front of gradient boosting.

corpus: source=sensors.feather key=device_id text=status_text
"""
import sys

import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.feature_selection import SelectFromModel
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

data = sys.argv[1]
sensors = pd.read_feather(f"{data}/sensors.feather")
sensors["temperature"] = sensors["temperature"].fillna(sensors["temperature"].median())
np.random.seed(0)
in_train = np.random.rand(len(sensors)) < 0.75
train, test = sensors[in_train], sensors[~in_train]
print(len(train), len(test))


def featurise(frame, vectoriser):
    readings = frame[["temperature", "vibration"]].to_numpy()
    hot = np.abs(readings[:, 0] - 60.0) > 10
    status = vectoriser.transform(frame["status_text"]).toarray()
    return np.concatenate([readings, hot.reshape(-1, 1), status], axis=1)


vectoriser = CountVectorizer().fit(train["status_text"])
X_train, X_test = featurise(train, vectoriser), featurise(test, vectoriser)
model = make_pipeline(SelectFromModel(LogisticRegression(max_iter=500), threshold="mean"),
                      GradientBoostingClassifier(n_estimators=20, max_depth=2, random_state=0))
model.fit(X_train, train["failure"])
print("kept", model[0].get_support().sum(), "accuracy", round(model.score(X_test, test["failure"]), 4))
