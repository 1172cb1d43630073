"""A product catalogue from Excel joined to orders; which products get returned.

corpus: source=products.xlsx key=product_id text=description
"""
import sys

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

data = sys.argv[1]
products = pd.read_excel(f"{data}/products.xlsx")
orders = pd.read_csv(f"{data}/orders.csv")
print(products.nlargest(3, "price")[["product_id", "price"]])
print(products.nsmallest(3, "price")[["product_id", "price"]])

frame = orders.merge(products, on="product_id", how="inner")
print(pd.crosstab(frame["category"], frame["channel"]))
frame["line_total"] = frame.eval("price * quantity")
frame["expensive"] = frame["price"] > frame["price"].median()

X = frame[["line_total", "price", "quantity", "category", "channel", "description"]]
y = frame["returned"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=3)
model = Pipeline([
    ("features", ColumnTransformer([
        ("num", StandardScaler(), ["line_total", "price", "quantity"]),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["category", "channel"]),
        ("text", CountVectorizer(), "description"),
    ])),
    ("classifier", LogisticRegression(max_iter=500)),
])
model.fit(X_train, y_train)
print("accuracy", round(model.score(X_test, y_test), 4))
