"""Generated customers for the screening examples: numeric features, a city, a group, an email, a label."""
import numpy as np
import pandas as pd


def customers(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income, tenure = rng.normal(0, 1, n), rng.normal(0, 1, n)
    # The label is a column of the source, as observed outcomes are: not computed by the pipeline from features.
    label = (income + tenure + rng.normal(0, 0.3, n) > 0).astype(int)
    return pd.DataFrame({"customer": np.arange(n), "email": [f"customer{i}@example.org" for i in range(n)],
                         "group": rng.choice(["a", "b"], n, p=[0.7, 0.3]), "city": rng.choice(["x", "y", "z"], n),
                         "income": income, "tenure": tenure, "label": label})
