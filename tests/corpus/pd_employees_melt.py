"""Employee attrition from JSON lines: ratings melted to long form and pivoted back, eval, insert and pop.

corpus: source=employees.json key=emp_id text=review_text
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
staff = pd.read_json(f"{data}/employees.json", lines=True)

ratings = staff.melt(id_vars=["emp_id"], value_vars=["rating_2022", "rating_2023"], var_name="year",
                     value_name="rating")
ratings["year"] = ratings["year"].str.replace("rating_", "").astype(int)
print(ratings.groupby("year")["rating"].mean().round(3))
wide = ratings.pivot(index="emp_id", columns="year", values="rating")
wide.columns = [f"r{c}" for c in wide.columns]
wide = wide.reset_index()

staff = staff.merge(wide, on="emp_id")
staff = staff.eval("rating_change = r2023 - r2022")
staff.insert(2, "salary_k", staff["salary"] / 1000)
salary = staff.pop("salary")
print(round(salary.mean(), 1))
staff["dept_rank"] = staff.groupby("dept")["salary_k"].rank(pct=True)

numeric = ["salary_k", "tenure", "r2022", "r2023", "rating_change", "dept_rank"]
X_train, X_test, y_train, y_test = train_test_split(staff[numeric + ["dept", "review_text"]], staff["left"],
                                                    test_size=0.25, random_state=2)
model = Pipeline([
    ("features", ColumnTransformer([
        ("num", StandardScaler(), numeric),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["dept"]),
        ("text", CountVectorizer(), "review_text"),
    ])),
    ("classifier", LogisticRegression(max_iter=500)),
])
model.fit(X_train, y_train)
print("accuracy", round(model.score(X_test, y_test), 4))
