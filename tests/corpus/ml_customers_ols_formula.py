"""Income regression with the statsmodels formula API (rows with missing age are dropped by the formula).

corpus: source=customers.csv key=customer_id text=notes
"""
import sys

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

data = sys.argv[1]
customers = pd.read_csv(f"{data}/customers.csv")
customers["log_income"] = np.log(customers["income"])
customers["note_length"] = customers["notes"].str.len()
fitted = smf.ols("log_income ~ age + note_length + C(segment) + C(city)", data=customers).fit()
print(fitted.nobs, fitted.params.round(4).to_dict())
print("r2", round(fitted.rsquared, 4))
print(fitted.predict(customers.head(3)).round(4).tolist())
