"""Discontinued products: a binomial GLM on price and description features, and an OLS on the same matrix.

corpus: source=products.xlsx key=product_id text=description
"""
import sys

import numpy as np
import pandas as pd
import statsmodels.api as sm

data = sys.argv[1]
products = pd.read_excel(f"{data}/products.xlsx")
products["log_price"] = np.log(products["price"])
products["words"] = products["description"].str.count(" ") + 1
products["garden"] = np.where(products["category"] == "garden", 1.0, 0.0)
X = sm.add_constant(products[["log_price", "words", "garden"]])
glm = sm.GLM(products["discontinued"], X, family=sm.families.Binomial()).fit()
print(glm.params.round(4).tolist())
ols = sm.OLS(products["log_price"], sm.add_constant(products[["words", "garden"]].to_numpy())).fit()
print(np.round(ols.params, 4).tolist())
