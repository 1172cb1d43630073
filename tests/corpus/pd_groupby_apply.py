"""Customer profiles from their orders with groupby apply and filter, joined to customers.

corpus: source=customers.csv key=customer_id text=notes
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
customers = pd.read_csv(f"{data}/customers.csv")
orders = pd.read_csv(f"{data}/orders.csv")

regulars = orders.groupby("customer_id").filter(lambda group: len(group) >= 3)
print(len(regulars), regulars["customer_id"].nunique())


def profile(group):
    return pd.Series({"spent": group["amount"].sum(), "app_share": (group["channel"] == "app").mean(),
                      "max_quantity": group["quantity"].max()})


profiles = regulars.groupby("customer_id")[["amount", "channel", "quantity"]].apply(profile).reset_index()
first_orders = orders.sort_values("order_date").groupby("customer_id").head(1)
first_orders = first_orders[["customer_id", "amount"]].rename(columns={"amount": "first_amount"})
frame = customers.merge(profiles, on="customer_id").merge(first_orders, on="customer_id")
print(frame.shape)

numeric = ["spent", "app_share", "max_quantity", "first_amount", "income"]
X_train, X_test, y_train, y_test = train_test_split(frame[numeric + ["notes"]], frame["churned"], test_size=0.3,
                                                    random_state=0)
model = Pipeline([
    ("features", ColumnTransformer([("num", StandardScaler(), numeric), ("text", CountVectorizer(), "notes")])),
    ("classifier", LogisticRegression(max_iter=500)),
])
model.fit(X_train, y_train)
print("accuracy", round(model.score(X_test, y_test), 4))
