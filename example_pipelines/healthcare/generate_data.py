"""Generate the synthetic patient data of the healthcare example pipeline.

Two tables are produced, ``patients`` and ``histories``, with one history per
patient; they share the ``ssn`` column. The data is made up but correlated on
purpose:

* ``age_group`` depends strongly on ``county``: counties 2 and 3 are young, so
  keeping only them shifts the age distribution (the bias that the example
  pipeline introduces with its county filter);
* ``race`` depends a little on ``county``, and ``last_name`` on ``race``;
* ``num_children`` and ``income`` depend on ``age_group``;
* ``complications`` depends on ``age_group``, ``smoker`` and (inversely) on
  ``income`` relative to the age group.

``smoker``, ``county`` and ``race`` have a few missing values (empty fields).

Usage: ``python generate_data.py OUT_DIR [--rows N] [--seed S]``.
"""

import argparse
import os

import numpy as np
import pandas as pd

DEFAULT_ROWS = 1000

COUNTIES = np.array([f"county{i}" for i in range(1, 7)])
COUNTY_PROBABILITIES = [0.20, 0.20, 0.20, 0.15, 0.15, 0.10]
AGE_GROUPS = np.array(["group1", "group2", "group3", "group4"])
# Distribution of the age groups in each county (one row per county).
AGE_GROUP_PROBABILITIES_BY_COUNTY = np.array(
    [
        [0.15, 0.25, 0.30, 0.30],
        [0.40, 0.35, 0.17, 0.08],
        [0.35, 0.40, 0.17, 0.08],
        [0.15, 0.25, 0.30, 0.30],
        [0.20, 0.25, 0.25, 0.30],
        [0.10, 0.20, 0.30, 0.40],
    ]
)
RACES = np.array(["race1", "race2", "race3", "race4"])
RACE_PROBABILITIES_BY_COUNTY = np.array(
    [
        [0.60, 0.20, 0.15, 0.05],
        [0.40, 0.35, 0.15, 0.10],
        [0.45, 0.20, 0.30, 0.05],
        [0.60, 0.15, 0.15, 0.10],
        [0.50, 0.25, 0.15, 0.10],
        [0.55, 0.20, 0.10, 0.15],
    ]
)
# Per age group: mean number of children, median income, share of smokers and
# mean number of complications of a non-smoker.
MEAN_CHILDREN = np.array([0.3, 1.2, 2.0, 1.6])
MEDIAN_INCOME = np.array([28_000.0, 46_000.0, 61_000.0, 50_000.0])
SMOKER_SHARE = np.array([0.30, 0.26, 0.20, 0.14])
MEAN_COMPLICATIONS = np.array([0.5, 1.0, 1.8, 2.8])
SMOKER_COMPLICATION_FACTOR = 2.0
# Complications scale with (income / median income of the age group) ** this.
INCOME_COMPLICATION_ELASTICITY = -1.0

_LAST_NAME_STEMS = [
    "Ash", "Bar", "Car", "Dal", "Ell", "Fair", "Gar", "Hal", "Ing", "Kel",
    "Lang", "Mar", "Nor", "Oak", "Pen", "Rad", "Sher", "Tal", "Wal", "York",
]
_LAST_NAME_ENDINGS = ["by", "ford", "ton", "wood", "ley", "man", "son", "field", "well", "ridge"]
# 200 last names; names of one stem are contiguous, 50 names per block.
LAST_NAMES = np.array([stem + ending for stem in _LAST_NAME_STEMS for ending in _LAST_NAME_ENDINGS])
_FIRST_NAME_STEMS = ["Al", "Bri", "Cal", "Dor", "Ev", "Fin", "Gil", "Han", "Jor", "Kar"]
_FIRST_NAME_ENDINGS = ["a", "an", "en", "ie", "o", "ra", "us", "yn", "el", "ia"]
FIRST_NAMES = np.array([stem + ending for stem in _FIRST_NAME_STEMS for ending in _FIRST_NAME_ENDINGS])
# Share of people whose last name comes from the name block of their race.
LAST_NAME_RACE_AFFINITY = 0.7

MISSING_SHARE = {"county": 0.03, "race": 0.02, "smoker": 0.04}


def _categorical_by_row(rng, probabilities_by_group, group_codes):
    """Draw one category per row from the distribution of the row's group."""
    cumulative = np.cumsum(probabilities_by_group, axis=1)
    cumulative[:, -1] = 1.0
    draws = rng.random(len(group_codes))
    return (draws[:, None] > cumulative[group_codes]).sum(axis=1)


def _with_missing(rng, values, share):
    """Return ``values`` as an object array with ``share`` of them set to NaN."""
    values = values.astype(object)
    values[rng.random(len(values)) < share] = np.nan
    return values


def _social_security_numbers(rng, num_rows):
    """Distinct 'AAA-GG-SSSS' strings, in a seed-dependent order."""
    # i -> (offset + i * step) mod 900,000,000 is injective because step is
    # coprime to 900,000,000 = 2^8 * 3^2 * 5^8.
    offset = int(rng.integers(0, 900_000_000))
    numbers = (offset + np.arange(num_rows, dtype=np.int64) * 493_817_261) % 900_000_000 + 100_000_000
    digits = pd.Series(numbers).astype(str)
    return (digits.str[:3] + "-" + digits.str[3:5] + "-" + digits.str[5:]).to_numpy(dtype=object)


def generate(num_rows, seed=42):
    """Generate the patients and their histories.

    Parameters
    ----------
    num_rows : int
        Number of patients (and of histories).
    seed : int, default=42
        Seed of the random generator; the output is a function of it.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``{"patients": ..., "histories": ...}``, keyed by CSV file name stem.
    """
    rng = np.random.default_rng(seed)

    county_codes = rng.choice(len(COUNTIES), size=num_rows, p=COUNTY_PROBABILITIES)
    age_codes = _categorical_by_row(rng, AGE_GROUP_PROBABILITIES_BY_COUNTY, county_codes)
    race_codes = _categorical_by_row(rng, RACE_PROBABILITIES_BY_COUNTY, county_codes)

    block_size = len(LAST_NAMES) // len(RACES)
    from_own_block = rng.random(num_rows) < LAST_NAME_RACE_AFFINITY
    last_name_codes = np.where(
        from_own_block,
        race_codes * block_size + rng.integers(0, block_size, num_rows),
        rng.integers(0, len(LAST_NAMES), num_rows),
    )
    first_names = FIRST_NAMES[rng.integers(0, len(FIRST_NAMES), num_rows)]

    num_children = rng.poisson(MEAN_CHILDREN[age_codes])
    relative_income = rng.lognormal(0.0, 0.35, num_rows)
    income = MEDIAN_INCOME[age_codes] * relative_income
    income = (np.round(income / 10.0) * 10).astype(np.int64)

    is_smoker = rng.random(num_rows) < SMOKER_SHARE[age_codes]
    complication_rate = (
        MEAN_COMPLICATIONS[age_codes]
        * np.where(is_smoker, SMOKER_COMPLICATION_FACTOR, 1.0)
        * relative_income**INCOME_COMPLICATION_ELASTICITY
    )
    complications = rng.poisson(complication_rate)

    ssn = _social_security_numbers(rng, num_rows)

    patients = pd.DataFrame(
        {
            "id": np.arange(1, num_rows + 1),
            "first_name": first_names,
            "last_name": LAST_NAMES[last_name_codes],
            "race": _with_missing(rng, RACES[race_codes], MISSING_SHARE["race"]),
            "county": _with_missing(rng, COUNTIES[county_codes], MISSING_SHARE["county"]),
            "num_children": num_children,
            "income": income,
            "age_group": AGE_GROUPS[age_codes],
            "ssn": ssn,
        }
    )
    history_order = rng.permutation(num_rows)
    histories = pd.DataFrame(
        {
            "smoker": _with_missing(rng, np.where(is_smoker, "yes", "no"), MISSING_SHARE["smoker"])[history_order],
            "complications": complications[history_order],
            "ssn": ssn[history_order],
        }
    )
    return {"patients": patients, "histories": histories}


def write(out_dir, num_rows, seed=42):
    """Generate the data and write one CSV file per table into ``out_dir``."""
    os.makedirs(out_dir, exist_ok=True)
    for name, frame in generate(num_rows, seed).items():
        frame.to_csv(os.path.join(out_dir, f"{name}.csv"), index=False, lineterminator="\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", help="directory to write the CSV files to")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="number of patients")
    parser.add_argument("--seed", type=int, default=42, help="random seed")
    arguments = parser.parse_args()
    write(arguments.out_dir, arguments.rows, arguments.seed)
