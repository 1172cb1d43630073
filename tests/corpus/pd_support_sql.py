"""Support tickets from SQLite: which tickets get escalated.

corpus: source=support.db key=ticket_id text=subject
"""
import sqlite3
import sys

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

data = sys.argv[1]
connection = sqlite3.connect(f"{data}/support.db")
tickets = pd.read_sql("SELECT * FROM tickets", connection)
connection.close()

tickets["opened"] = pd.to_datetime(tickets["opened"])
tickets["weekday"] = tickets["opened"].dt.day_name()
tickets["month"] = tickets["opened"].dt.month
print(tickets["priority"].value_counts(normalize=True).round(3))

per_customer = tickets.groupby("customer_id", as_index=False).size()
per_customer = per_customer.rename(columns={"size": "tickets_per_customer"})
tickets = tickets.merge(per_customer, on="customer_id", how="left")
tickets["long_open"] = tickets["hours_open"] > tickets["hours_open"].quantile(0.75)

X = tickets[["priority", "weekday", "month", "hours_open", "tickets_per_customer", "long_open", "subject"]]
y = tickets["escalated"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
model = Pipeline([
    ("features", ColumnTransformer([
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["priority", "weekday"]),
        ("num", StandardScaler(), ["month", "hours_open", "tickets_per_customer", "long_open"]),
        ("text", TfidfVectorizer(), "subject"),
    ])),
    ("classifier", LogisticRegression(max_iter=500)),
])
model.fit(X_train, y_train)
print("accuracy", round(model.score(X_test, y_test), 4))
