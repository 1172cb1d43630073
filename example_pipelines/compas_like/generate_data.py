"""Generate synthetic COMPAS-like recidivism data for the compas_like example.

One table, ``compas``, with one row per screened defendant. The data is made
up, with correlations in the spirit of the ProPublica COMPAS analysis:

* ``priors_count`` grows with ``age`` and is higher for men and, through a
  biased history of arrests, for African-American defendants;
* recidivism (``two_year_recid`` and ``is_recid``) falls with age and rises with
  prior and juvenile offences and with a felony charge;
* the risk score (``decile_score``, ``score_text``) follows the recidivism risk
  with noise and an extra penalty for African-American defendants.

Rows the analysis discards are included: ``days_b_screening_arrest`` outside
[-30, 30] or missing, ``is_recid == -1``, ``c_charge_degree == "O"`` and
``score_text == "N/A"``. ``race`` and ``priors_count`` have a few missing values
(empty fields).

Usage: ``python generate_data.py OUT_DIR [--rows N] [--seed S]``.
"""

import argparse
import os

import numpy as np
import pandas as pd

DEFAULT_ROWS = 1500

RACES = np.array(["African-American", "Caucasian", "Hispanic", "Other", "Asian", "Native American"])
RACE_PROBABILITIES = [0.50, 0.34, 0.09, 0.05, 0.01, 0.01]
CHARGE_DEGREES = np.array(["F", "M", "O"])
CHARGE_DEGREE_PROBABILITIES = [0.64, 0.35, 0.01]
SHARE_MALE = 0.8
SHARE_UNKNOWN_RECIDIVISM = 0.03
SHARE_SCORE_NOT_AVAILABLE = 0.005
MISSING_SHARE = {"race": 0.02, "priors_count": 0.02, "days_b_screening_arrest": 0.03}


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _with_missing(rng, values, share):
    """Return ``values`` as an object array with ``share`` of them set to NaN."""
    values = values.astype(object)
    values[rng.random(len(values)) < share] = np.nan
    return values


def _days_between_screening_and_arrest(rng, num_rows):
    """Mostly -1 or 0 days, sometimes up to a month, sometimes far off."""
    kind = rng.choice(4, size=num_rows, p=[0.70, 0.10, 0.12, 0.08])
    near = rng.integers(-30, 31, num_rows)
    far = rng.integers(31, 400, num_rows) * rng.choice([-1, 1], size=num_rows, p=[0.3, 0.7])
    days = np.select([kind == 0, kind == 1, kind == 2], [-1, 0, near], default=far)
    days = pd.array(days, dtype="Int64")
    days[rng.random(num_rows) < MISSING_SHARE["days_b_screening_arrest"]] = pd.NA
    return days


def generate(num_rows, seed=42):
    """Generate the defendants.

    Parameters
    ----------
    num_rows : int
        Number of defendants.
    seed : int, default=42
        Seed of the random generator; the output is a function of it.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``{"compas": ...}``, keyed by CSV file name stem.
    """
    rng = np.random.default_rng(seed)

    is_male = rng.random(num_rows) < SHARE_MALE
    race_codes = rng.choice(len(RACES), size=num_rows, p=RACE_PROBABILITIES)
    is_african_american = race_codes == 0
    age = np.minimum(18 + np.round(rng.gamma(2.0, 8.0, num_rows)), 80).astype(np.int64)
    age_category = np.select([age < 25, age <= 45], ["Less than 25", "25 - 45"], default="Greater than 45")
    charge_codes = rng.choice(len(CHARGE_DEGREES), size=num_rows, p=CHARGE_DEGREE_PROBABILITIES)

    juvenile_felonies = rng.poisson(np.where(age < 25, 0.25, 0.05))
    mean_priors = (
        1.2
        * (1.0 + 0.05 * (age - 18))
        * np.where(is_male, 1.2, 0.8)
        * np.where(is_african_american, 1.4, 1.0)
    )
    # Gamma-Poisson mixture: over-dispersed counts like real criminal records.
    priors = rng.poisson(mean_priors * rng.gamma(3.0, 1.0 / 3.0, num_rows))

    recidivism_logit = (
        -0.9
        + 0.15 * np.minimum(priors, 15)
        + 0.5 * juvenile_felonies
        - 0.04 * (age - 30)
        + 0.25 * (charge_codes == 0)
        + 0.2 * is_male
    )
    two_year_recid = (rng.random(num_rows) < _sigmoid(recidivism_logit)).astype(np.int64)
    is_recid = np.where(two_year_recid == 1, 1, (rng.random(num_rows) < 0.1).astype(np.int64))
    is_recid[rng.random(num_rows) < SHARE_UNKNOWN_RECIDIVISM] = -1

    score_logit = recidivism_logit + 0.5 * is_african_american + rng.normal(0.0, 0.3, num_rows)
    decile_score = np.clip(np.ceil(10 * _sigmoid(1.6 * score_logit)), 1, 10).astype(np.int64)
    score_text = np.select([decile_score <= 4, decile_score <= 7], ["Low", "Medium"], default="High").astype(object)
    score_text[rng.random(num_rows) < SHARE_SCORE_NOT_AVAILABLE] = "N/A"

    priors_count = pd.array(priors, dtype="Int64")
    priors_count[rng.random(num_rows) < MISSING_SHARE["priors_count"]] = pd.NA

    compas = pd.DataFrame(
        {
            "id": np.arange(1, num_rows + 1),
            "sex": np.where(is_male, "Male", "Female"),
            "age": age,
            "age_cat": age_category,
            "race": _with_missing(rng, RACES[race_codes], MISSING_SHARE["race"]),
            "juv_fel_count": juvenile_felonies,
            "priors_count": priors_count,
            "c_charge_degree": CHARGE_DEGREES[charge_codes],
            "days_b_screening_arrest": _days_between_screening_and_arrest(rng, num_rows),
            "is_recid": is_recid,
            "two_year_recid": two_year_recid,
            "decile_score": decile_score,
            "score_text": score_text,
        }
    )
    return {"compas": compas}


def write(out_dir, num_rows, seed=42):
    """Generate the data and write one CSV file per table into ``out_dir``."""
    os.makedirs(out_dir, exist_ok=True)
    for name, frame in generate(num_rows, seed).items():
        frame.to_csv(os.path.join(out_dir, f"{name}.csv"), index=False, lineterminator="\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", help="directory to write the CSV files to")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="number of defendants")
    parser.add_argument("--seed", type=int, default=42, help="random seed")
    arguments = parser.parse_args()
    write(arguments.out_dir, arguments.rows, arguments.seed)
