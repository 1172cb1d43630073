"""Generate the synthetic loan applications of the CI demo.

One table, ``applicants.csv``. The data is made up but correlated on purpose:

* ``region`` depends on ``race``, and ``income`` on ``region``;
* ``has_credit_history`` is False far more often for ``race = 'race3'`` (a thin-file
  group), which is what makes the pull request's "applicants with a credit history
  only" filter biased;
* ``approved`` depends on income, debt and years employed (plus noise), not on race.

Usage: ``python generate_data.py OUT_DIR [--rows N] [--seed S]``.
"""

import argparse
import os

import numpy as np
import pandas as pd

DEFAULT_ROWS = 5000
RACES = np.array(["race1", "race2", "race3"])
RACE_PROBABILITIES = [0.55, 0.25, 0.20]
REGIONS = np.array(["urban", "suburban", "rural"])
REGION_PROBABILITIES_BY_RACE = np.array([[0.35, 0.45, 0.20], [0.60, 0.30, 0.10], [0.30, 0.25, 0.45]])
MEDIAN_INCOME_BY_REGION = np.array([58_000.0, 62_000.0, 41_000.0])
AGE_GROUPS = np.array(["18-29", "30-44", "45-64", "65+"])
AGE_GROUP_PROBABILITIES = [0.25, 0.35, 0.30, 0.10]
NO_CREDIT_HISTORY_SHARE_BY_RACE = np.array([0.06, 0.08, 0.55])


def generate(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    race = rng.choice(len(RACES), size=rows, p=RACE_PROBABILITIES)
    region = np.array([rng.choice(len(REGIONS), p=REGION_PROBABILITIES_BY_RACE[r]) for r in race])
    age_group = rng.choice(len(AGE_GROUPS), size=rows, p=AGE_GROUP_PROBABILITIES)
    income = np.round(MEDIAN_INCOME_BY_REGION[region] * rng.lognormal(0.0, 0.35, size=rows), -2)
    years_employed = np.minimum(rng.poisson(2 + 4 * age_group), 45)
    debt = np.round(income * rng.beta(2, 5, size=rows), -2)
    has_credit_history = rng.random(rows) >= NO_CREDIT_HISTORY_SHARE_BY_RACE[race]
    score = (np.log(income / 50_000) * 2.0 - 4.0 * debt / income + 0.12 * years_employed
             + rng.normal(0.0, 0.6, size=rows))
    approved = (score > np.median(score)).astype(int)
    return pd.DataFrame({
        "race": RACES[race], "age_group": AGE_GROUPS[age_group], "region": REGIONS[region],
        "income": income.astype(int), "debt": debt.astype(int), "years_employed": years_employed,
        "has_credit_history": has_credit_history, "approved": approved,
    })


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    os.makedirs(arguments.out_dir, exist_ok=True)
    generate(arguments.rows, arguments.seed).to_csv(os.path.join(arguments.out_dir, "applicants.csv"), index=False)


if __name__ == "__main__":
    main()
