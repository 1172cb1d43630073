"""Sensor failures: scaled readings compressed with PCA, status text with TruncatedSVD, stacked with np.c_.

corpus: source=sensors.feather key=device_id text=status_text
"""
import sys

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.ensemble import RandomForestClassifier
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.preprocessing import StandardScaler

data = sys.argv[1]
sensors = pd.read_feather(f"{data}/sensors.feather")
sensors["temperature"] = sensors["temperature"].fillna(sensors["temperature"].mean())
readings = sensors[["temperature", "vibration"]].to_numpy()
readings = np.c_[readings, np.exp(-readings[:, 1])]
print(readings.shape)

scaled = StandardScaler().fit_transform(readings)
components = PCA(n_components=2, random_state=0).fit_transform(scaled)
status = CountVectorizer().fit_transform(sensors["status_text"])
topics = TruncatedSVD(n_components=2, random_state=0).fit_transform(status)
X = np.c_[components, topics]
print("explained", X.shape, np.round(np.abs(X).mean(axis=0), 3))

forest = RandomForestClassifier(n_estimators=25, max_depth=4, random_state=0).fit(X, sensors["failure"])
print("train accuracy", round(forest.score(X, sensors["failure"]), 4))
