"""Machine failures from sensor readings in a Feather file: time index, rolling windows, gaps.

corpus: source=sensors.feather key=device_id text=status_text
"""
import sys

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

data = sys.argv[1]
readings = pd.read_feather(f"{data}/sensors.feather")
readings["timestamp"] = pd.to_datetime(readings["timestamp"])
print(readings.isna().mean().round(3))
print(readings.notna().all(axis=1).sum())

readings["hour"] = readings["timestamp"].dt.hour
readings = readings.set_index("timestamp").sort_index()
readings = readings.reset_index()
readings = readings.sort_values(["device_id", "timestamp"], kind="stable")
readings["temperature"] = readings.groupby("device_id")["temperature"].transform(lambda s: s.interpolate())
readings["temperature"] = readings["temperature"].fillna(readings["temperature"].mean())
readings["temp_rolling"] = readings["temperature"].rolling(3, min_periods=1).mean()
readings["temp_change"] = readings.groupby("device_id")["temperature"].diff().fillna(0)
readings["vibration"] = readings["vibration"].clip(0, 3)
readings["failures_so_far"] = readings.groupby("device_id")["failure"].cumsum() - readings["failure"]

numeric = ["temperature", "temp_rolling", "temp_change", "vibration", "hour", "failures_so_far"]
X_train, X_test, y_train, y_test = train_test_split(readings[numeric + ["status_text"]], readings["failure"],
                                                    test_size=0.25, random_state=0)
model = Pipeline([
    ("features", ColumnTransformer([("num", StandardScaler(), numeric),
                                    ("text", CountVectorizer(), "status_text")])),
    ("classifier", LogisticRegression(max_iter=500)),
])
model.fit(X_train, y_train)
print("accuracy", round(model.score(X_test, y_test), 4))
