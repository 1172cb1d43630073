"""Generate synthetic census-like income data for the adult_like example.

One table, ``adult``, with one row per person, shaped like the UCI adult
census income data set but made up. The correlations are deliberate:

* ``education_num`` is the rank of ``education``; ``occupation`` depends on it;
* ``marital_status`` depends on ``age``, and ``relationship`` on marital status,
  ``sex`` and ``age``;
* ``hours_per_week`` depends on ``sex`` and ``workclass``;
* the chance of earning more than 50K (``income_bracket``) rises with education,
  age (up to about 50), hours worked, being married, being a man, a managerial
  or professional occupation and having a ``capital_gain``.

``workclass``, ``occupation`` and ``native_country`` have missing values written
as ``?``, like in the original data.

Usage: ``python generate_data.py OUT_DIR [--rows N] [--seed S]``.
"""

import argparse
import os

import numpy as np
import pandas as pd

DEFAULT_ROWS = 1500
MISSING = "?"

WORKCLASSES = np.array(
    ["Private", "Self-emp-not-inc", "Self-emp-inc", "Local-gov", "State-gov", "Federal-gov", "Without-pay"]
)
WORKCLASS_PROBABILITIES = [0.735, 0.08, 0.035, 0.065, 0.045, 0.035, 0.005]
# Ordered by education_num (1 to 16).
EDUCATIONS = np.array(
    [
        "Preschool", "1st-4th", "5th-6th", "7th-8th", "9th", "10th", "11th", "12th", "HS-grad",
        "Some-college", "Assoc-voc", "Assoc-acdm", "Bachelors", "Masters", "Prof-school", "Doctorate",
    ]
)
EDUCATION_WEIGHTS = np.array(
    [0.002, 0.005, 0.010, 0.020, 0.016, 0.029, 0.036, 0.013, 0.322, 0.224, 0.042, 0.033, 0.164, 0.053, 0.018, 0.013]
)
OCCUPATIONS = np.array(
    [
        "Prof-specialty", "Exec-managerial", "Tech-support", "Sales", "Adm-clerical", "Craft-repair",
        "Machine-op-inspct", "Transport-moving", "Handlers-cleaners", "Farming-fishing", "Other-service",
        "Protective-serv", "Priv-house-serv", "Armed-Forces",
    ]
)
# Occupation distribution for: no high-school diploma, high school or some
# college, a degree.
OCCUPATION_PROBABILITIES_BY_EDUCATION_TIER = np.array(
    [
        [0.02, 0.03, 0.01, 0.08, 0.05, 0.18, 0.14, 0.09, 0.12, 0.07, 0.18, 0.01, 0.019, 0.001],
        [0.05, 0.10, 0.03, 0.12, 0.15, 0.15, 0.07, 0.06, 0.05, 0.03, 0.14, 0.025, 0.004, 0.001],
        [0.36, 0.26, 0.05, 0.12, 0.07, 0.03, 0.01, 0.01, 0.005, 0.01, 0.03, 0.03, 0.004, 0.001],
    ]
)
HIGH_PAID_OCCUPATIONS = [0, 1]
MARITAL_STATUSES = np.array(
    ["Married-civ-spouse", "Never-married", "Divorced", "Separated", "Widowed", "Married-spouse-absent"]
)
# Marital status distribution for ages below 25, 25 to 34, 35 to 59 and 60+.
MARITAL_STATUS_PROBABILITIES_BY_AGE_BAND = np.array(
    [
        [0.08, 0.88, 0.02, 0.01, 0.00, 0.01],
        [0.42, 0.43, 0.10, 0.03, 0.01, 0.01],
        [0.60, 0.13, 0.19, 0.04, 0.03, 0.01],
        [0.55, 0.05, 0.15, 0.02, 0.22, 0.01],
    ]
)
RACES = np.array(["White", "Black", "Asian-Pac-Islander", "Amer-Indian-Eskimo", "Other"])
RACE_PROBABILITIES = [0.855, 0.096, 0.031, 0.010, 0.008]
COUNTRIES = np.array(
    ["United-States", "Mexico", "Philippines", "Germany", "Canada", "India", "El-Salvador", "China", "Cuba", "England"]
)
COUNTRY_PROBABILITIES = [0.915, 0.021, 0.012, 0.008, 0.008, 0.007, 0.007, 0.008, 0.007, 0.007]
SHARE_MALE = 0.67
MISSING_SHARE = {"workclass": 0.05, "occupation": 0.005, "native_country": 0.018}


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _categorical_by_row(rng, probabilities_by_group, group_codes):
    """Draw one category per row from the distribution of the row's group."""
    cumulative = np.cumsum(probabilities_by_group, axis=1)
    cumulative = cumulative / cumulative[:, -1:]
    draws = rng.random(len(group_codes))
    return (draws[:, None] > cumulative[group_codes]).sum(axis=1)


def generate(num_rows, seed=42):
    """Generate the people.

    Parameters
    ----------
    num_rows : int
        Number of people.
    seed : int, default=42
        Seed of the random generator; the output is a function of it.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``{"adult": ...}``, keyed by CSV file name stem.
    """
    rng = np.random.default_rng(seed)

    age = np.clip(np.round(17 + rng.gamma(2.6, 8.0, num_rows)), 17, 90).astype(np.int64)
    is_male = rng.random(num_rows) < SHARE_MALE
    race_codes = rng.choice(len(RACES), size=num_rows, p=RACE_PROBABILITIES)
    country_codes = rng.choice(len(COUNTRIES), size=num_rows, p=COUNTRY_PROBABILITIES)
    workclass_codes = rng.choice(len(WORKCLASSES), size=num_rows, p=WORKCLASS_PROBABILITIES)
    education_num = rng.choice(len(EDUCATIONS), size=num_rows, p=EDUCATION_WEIGHTS / EDUCATION_WEIGHTS.sum()) + 1
    education_tier = np.digitize(education_num, [9, 13])
    occupation_codes = _categorical_by_row(rng, OCCUPATION_PROBABILITIES_BY_EDUCATION_TIER, education_tier)

    age_band = np.digitize(age, [25, 35, 60])
    marital_codes = _categorical_by_row(rng, MARITAL_STATUS_PROBABILITIES_BY_AGE_BAND, age_band)
    is_married = marital_codes == 0
    relationship = np.select(
        [
            is_married & (rng.random(num_rows) < 0.03),
            is_married & is_male,
            is_married,
            (age < 25) & (rng.random(num_rows) < 0.7),
            (marital_codes >= 2) & (rng.random(num_rows) < 0.5),
        ],
        ["Other-relative", "Husband", "Wife", "Own-child", "Unmarried"],
        default="Not-in-family",
    )

    is_self_employed = (workclass_codes == 1) | (workclass_codes == 2)
    hours_per_week = np.round(
        rng.normal(38.0, 10.0, num_rows) + 4.0 * is_male + 5.0 * is_self_employed - 8.0 * (age < 22)
    )
    hours_per_week = np.clip(hours_per_week, 1, 99).astype(np.int64)

    earning_logit = (
        -2.7
        + 0.38 * (education_num - 10)
        + 0.06 * (np.minimum(age, 50) - 38)
        + 0.04 * (hours_per_week - 40)
        + 1.6 * is_married
        + 0.3 * is_male
        + 0.7 * np.isin(occupation_codes, HIGH_PAID_OCCUPATIONS)
        + 0.5 * (workclass_codes == 2)
        - 4.0 * (workclass_codes == 6)
    )
    has_capital_gain = rng.random(num_rows) < 0.03 + 0.12 * _sigmoid(earning_logit)
    capital_gain = np.where(has_capital_gain, np.round(rng.lognormal(8.3, 1.0, num_rows)), 0).astype(np.int64)
    earning_logit = earning_logit + 0.6 * has_capital_gain + 1.5 * (capital_gain > 7000)
    earns_more = rng.random(num_rows) < _sigmoid(earning_logit)

    workclass = WORKCLASSES[workclass_codes].astype(object)
    occupation = OCCUPATIONS[occupation_codes].astype(object)
    # As in the census data, an unknown workclass comes with an unknown occupation.
    workclass_missing = rng.random(num_rows) < MISSING_SHARE["workclass"]
    workclass[workclass_missing] = MISSING
    occupation[workclass_missing | (rng.random(num_rows) < MISSING_SHARE["occupation"])] = MISSING
    native_country = COUNTRIES[country_codes].astype(object)
    native_country[rng.random(num_rows) < MISSING_SHARE["native_country"]] = MISSING

    adult = pd.DataFrame(
        {
            "age": age,
            "workclass": workclass,
            "education": EDUCATIONS[education_num - 1],
            "education_num": education_num,
            "marital_status": MARITAL_STATUSES[marital_codes],
            "occupation": occupation,
            "relationship": relationship,
            "race": RACES[race_codes],
            "sex": np.where(is_male, "Male", "Female"),
            "capital_gain": capital_gain,
            "hours_per_week": hours_per_week,
            "native_country": native_country,
            "income_bracket": np.where(earns_more, ">50K", "<=50K"),
        }
    )
    return {"adult": adult}


def write(out_dir, num_rows, seed=42):
    """Generate the data and write one CSV file per table into ``out_dir``."""
    os.makedirs(out_dir, exist_ok=True)
    for name, frame in generate(num_rows, seed).items():
        frame.to_csv(os.path.join(out_dir, f"{name}.csv"), index=False, lineterminator="\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", help="directory to write the CSV files to")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="number of people")
    parser.add_argument("--seed", type=int, default=42, help="random seed")
    arguments = parser.parse_args()
    write(arguments.out_dir, arguments.rows, arguments.seed)
