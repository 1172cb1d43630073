"""Generate the synthetic bank customers and their mails for the creditcard example.

Two tables are produced, sharing the ``customer_id`` column:

* ``customers`` (one per ten mails): ``customer_id``, ``first_name``,
  ``last_name``, ``email``, ``bank``, ``country`` (an ISO code) and
  ``customer_segment`` (``premium`` or ``standard``). Banks depend on the
  country; ING, HSBC and Santander operate in two countries each.
* ``mails``: ``mail_id``, ``customer_id``, ``date`` (``YYYY-MM-DD``, 2020 to
  2023), ``mail_subject``, ``mail_text`` and ``sentiment`` (``positive`` or
  ``negative``). Subjects and texts are made of neutral banking words and words
  that hint at the sentiment; premium customers are happier.

Card-number-like strings (16 digits in groups of four that pass the Luhn check,
e.g. ``4532 0151 1283 0366``) are appended to the subjects of a share of the
mails of customers of chosen banks in chosen countries: by default Commerzbank
and ING customers in Germany (ING customers in the Netherlands are spared).
This is the leak that the example's clean-up has to find and remove.

No field contains a comma, a quote or a line break, so that the CSV files can
be parsed by splitting lines, as the messy pipeline does.

Usage: ``python generate_data.py OUT_DIR [--mails N] [--seed S]``.
"""

import argparse
import os

import numpy as np
import pandas as pd

DEFAULT_MAILS = 2000
MAILS_PER_CUSTOMER = 10

COUNTRIES = np.array(["DE", "FR", "GB", "NL", "ES", "IT"])
COUNTRY_PROBABILITIES = [0.30, 0.20, 0.20, 0.15, 0.10, 0.05]
BANKS_BY_COUNTRY = {
    "DE": ["Deutsche Bank", "Commerzbank", "Sparkasse", "ING", "Santander"],
    "FR": ["BNP Paribas", "Societe Generale", "Credit Agricole", "HSBC"],
    "GB": ["Barclays", "HSBC", "Lloyds"],
    "NL": ["ING", "Rabobank", "ABN AMRO"],
    "ES": ["Santander", "BBVA", "CaixaBank"],
    "IT": ["UniCredit", "Intesa Sanpaolo"],
}
DEFAULT_LEAK_BANKS = ("Commerzbank", "ING")
DEFAULT_LEAK_COUNTRIES = ("DE",)
# Share of the mails of leaking customers whose subject gets a card number.
DEFAULT_LEAK_RATE = 0.2
PREMIUM_SHARE = 0.2
# Probability of a positive mail for standard and for premium customers.
POSITIVE_PROBABILITY = {"standard": 0.45, "premium": 0.7}
FIRST_DAY, NUM_DAYS = np.datetime64("2020-01-01"), 4 * 365 + 1

FIRST_NAMES = np.array([
    "Anna", "Ben", "Clara", "David", "Elif", "Felix", "Greta", "Hugo", "Ines", "Jonas",
    "Karim", "Lena", "Marco", "Nora", "Omar", "Paula", "Quentin", "Rosa", "Sven", "Tara",
])
LAST_NAMES = np.array([
    "Bauer", "Dubois", "Evans", "Fischer", "Garcia", "Jansen", "Klein", "Laurent", "Martin", "Moreau",
    "Novak", "Rossi", "Schmidt", "Smith", "Taylor", "Visser", "Wagner", "Weber", "Wright", "Zimmer",
])
NEUTRAL_WORDS = np.array([
    "account", "card", "transfer", "payment", "statement", "branch", "online", "banking", "request",
    "update", "balance", "loan", "credit", "app", "login", "address", "limit", "fee", "savings", "pin",
    "my", "the", "about", "with", "your", "new", "last", "month", "please", "today",
])
POSITIVE_WORDS = np.array([
    "thanks", "great", "happy", "excellent", "helpful", "quick", "resolved", "appreciate", "perfect", "smooth",
])
NEGATIVE_WORDS = np.array([
    "problem", "angry", "broken", "failed", "delay", "wrong", "terrible", "complaint", "blocked", "unhappy",
])
SUBJECT_WORDS = (3, 5)
TEXT_WORDS = (4, 9)
# How often a text word hints at the sentiment, and how often such a hint is misleading.
TEXT_HINT_RATE, MISLEADING_HINT_RATE = 0.3, 0.2


def _pick(rng, words, shape):
    # Object arrays: assigning a long word into a fixed-width numpy string array would truncate it.
    return words.astype(object)[rng.integers(0, len(words), shape)]


def _sentiment_words(rng, is_positive, shape):
    """Words hinting at each row's sentiment; ``MISLEADING_HINT_RATE`` of them hint at the other one."""
    misleading = rng.random(shape) < MISLEADING_HINT_RATE
    positive = np.logical_xor(np.broadcast_to(is_positive[:, None], shape), misleading)
    return np.where(positive, _pick(rng, POSITIVE_WORDS, shape), _pick(rng, NEGATIVE_WORDS, shape))


def _join_words(words, lengths):
    """Row i of ``words``, cut to ``lengths[i]`` words, joined by spaces."""
    return np.array([" ".join(row[:length]) for row, length in zip(words.tolist(), lengths.tolist())],
                    dtype=object)


def card_numbers(rng, count):
    """``count`` Luhn-valid 16-digit Visa-like numbers formatted as four groups of four digits."""
    digits = rng.integers(0, 10, (count, 15))
    digits[:, 0] = 4
    # Luhn: counted from the check digit, every second digit is doubled; here the
    # even positions of the 15 payload digits.
    doubled = digits[:, 0::2] * 2
    total = digits[:, 1::2].sum(axis=1) + np.where(doubled > 9, doubled - 9, doubled).sum(axis=1)
    check = (10 - total % 10) % 10
    numbers = np.column_stack([digits, check]).tolist()
    return np.array([" ".join("".join(map(str, row[start:start + 4])) for start in range(0, 16, 4))
                     for row in numbers], dtype=object)


def generate(num_mails, seed=42, leak_banks=DEFAULT_LEAK_BANKS, leak_countries=DEFAULT_LEAK_COUNTRIES,
             leak_rate=DEFAULT_LEAK_RATE):
    """Generate the customers and their mails.

    Parameters
    ----------
    num_mails : int
        Number of mails; there is one customer per ten mails (at least one).
    seed : int, default=42
        Seed of the random generator; the output is a function of all parameters.
    leak_banks, leak_countries : sequence of str
        Customers of one of these banks living in one of these countries leak
        card numbers into their mail subjects.
    leak_rate : float, default=0.2
        Share of the mails of those customers that contain a card number.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``{"customers": ..., "mails": ...}``, keyed by CSV file name stem.
    """
    rng = np.random.default_rng(seed)
    num_customers = max(1, num_mails // MAILS_PER_CUSTOMER)

    country_codes = rng.choice(len(COUNTRIES), size=num_customers, p=COUNTRY_PROBABILITIES)
    banks_per_country = np.array([len(BANKS_BY_COUNTRY[c]) for c in COUNTRIES])
    bank_table = np.array([bank for country in COUNTRIES for bank in BANKS_BY_COUNTRY[country]], dtype=object)
    bank_offsets = np.concatenate([[0], np.cumsum(banks_per_country)[:-1]])
    bank_in_country = (rng.random(num_customers) * banks_per_country[country_codes]).astype(int)
    bank_codes = bank_offsets[country_codes] + bank_in_country
    is_premium = rng.random(num_customers) < PREMIUM_SHARE
    customer_ids = np.arange(1, num_customers + 1)
    first_names = _pick(rng, FIRST_NAMES, num_customers)
    last_names = _pick(rng, LAST_NAMES, num_customers)
    emails = (pd.Series(first_names).str.lower() + "." + pd.Series(last_names).str.lower() + "."
              + pd.Series(customer_ids).astype(str) + "@example.com")
    customers = pd.DataFrame({
        "customer_id": customer_ids,
        "first_name": first_names,
        "last_name": last_names,
        "email": emails.to_numpy(dtype=object),
        "bank": bank_table[bank_codes],
        "country": COUNTRIES[country_codes],
        "customer_segment": np.where(is_premium, "premium", "standard"),
    })

    customer_index = rng.integers(0, num_customers, num_mails)
    positive_probability = np.where(is_premium, POSITIVE_PROBABILITY["premium"], POSITIVE_PROBABILITY["standard"])
    is_positive = rng.random(num_mails) < positive_probability[customer_index]
    dates = (FIRST_DAY + rng.integers(0, NUM_DAYS, num_mails)).astype(str)

    subject_words = _pick(rng, NEUTRAL_WORDS, (num_mails, SUBJECT_WORDS[1]))
    subject_words[:, 1] = _sentiment_words(rng, is_positive, (num_mails, 1))[:, 0]
    subject_words[:, 0] = pd.Series(subject_words[:, 0]).str.capitalize().to_numpy(dtype=object)
    subjects = _join_words(subject_words, rng.integers(SUBJECT_WORDS[0], SUBJECT_WORDS[1] + 1, num_mails))
    text_shape = (num_mails, TEXT_WORDS[1])
    text_words = np.where(rng.random(text_shape) < TEXT_HINT_RATE, _sentiment_words(rng, is_positive, text_shape),
                          _pick(rng, NEUTRAL_WORDS, text_shape))
    texts = _join_words(text_words, rng.integers(TEXT_WORDS[0], TEXT_WORDS[1] + 1, num_mails))

    leaking_customer = np.isin(customers["bank"].to_numpy(), list(leak_banks)) & np.isin(
        customers["country"].to_numpy(), list(leak_countries))
    leaks = leaking_customer[customer_index] & (rng.random(num_mails) < leak_rate)
    subjects[leaks] = subjects[leaks] + " " + card_numbers(rng, int(leaks.sum()))

    mails = pd.DataFrame({
        "mail_id": np.arange(1, num_mails + 1),
        "customer_id": customer_ids[customer_index],
        "date": dates,
        "mail_subject": subjects,
        "mail_text": texts,
        "sentiment": np.where(is_positive, "positive", "negative"),
    })
    return {"customers": customers, "mails": mails}


def write(out_dir, num_mails, seed=42):
    """Generate the data and write one CSV file per table into ``out_dir``."""
    os.makedirs(out_dir, exist_ok=True)
    for name, frame in generate(num_mails, seed).items():
        frame.to_csv(os.path.join(out_dir, f"{name}.csv"), index=False, lineterminator="\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", help="directory to write the CSV files to")
    parser.add_argument("--mails", type=int, default=DEFAULT_MAILS, help="number of mails (ten per customer)")
    parser.add_argument("--seed", type=int, default=42, help="random seed")
    arguments = parser.parse_args()
    write(arguments.out_dir, arguments.mails, arguments.seed)
