"""Ticket escalation with statsmodels: a Logit on add_constant features read from SQLite.

corpus: source=support.db key=ticket_id text=subject
"""
import sqlite3
import sys

import numpy as np
import pandas as pd
import statsmodels.api as sm

data = sys.argv[1]
with sqlite3.connect(f"{data}/support.db") as connection:
    tickets = pd.read_sql("SELECT * FROM tickets", connection)
connection.close()

tickets["subject_words"] = tickets["subject"].str.split().str.len()
tickets["mentions_refund"] = tickets["subject"].str.contains("refund").astype(float)
tickets["high"] = (tickets["priority"] == "high").astype(float)
tickets["log_hours"] = np.log1p(tickets["hours_open"])
X = sm.add_constant(tickets[["subject_words", "mentions_refund", "high", "log_hours"]])
logit = sm.Logit(tickets["escalated"], X).fit(disp=0)
print(logit.params.round(4))
probabilities = logit.predict(X)
print("mean predicted", round(float(probabilities.mean()), 4))
