"""The credit card example: its data generator, and its messy and declarative pipelines.

The declarative ``pipeline.py`` must be a valid rewrite of ``messy_pipeline.py``
by the rewrite's own validator: same model, same training rows and labels,
same feature values (columns in another order).
"""
import math
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from example_generators import load_generator
from lester_inspect import PipelineInspector
from lester_inspect.rewrite.sandbox import Limits, child_environment
from lester_inspect.rewrite.validation import Validator

EXAMPLE = Path(__file__).resolve().parents[1] / "example_pipelines" / "creditcard"
CARD_NUMBER = re.compile(r"\b\d{4} \d{4} \d{4} \d{4}\b")
RESULT_LINE = re.compile(r"Test accuracy: 0\.\d{4}\n")
KEPT_COUNTRIES = ["DE", "FR", "GB", "NL"]


@pytest.fixture(scope="module")
def generator():
    return load_generator("creditcard")


@pytest.fixture(scope="module")
def large(generator):
    return generator.generate(20_000, seed=5)


def luhn_valid(number: str) -> bool:
    digits = [int(d) for d in number.replace(" ", "")][::-1]
    total = sum(d if i % 2 == 0 else (2 * d - 9 if 2 * d > 9 else 2 * d) for i, d in enumerate(digits))
    return total % 10 == 0


def leaked(frames):
    """The mails with a card number in their subject, joined with their customer."""
    mails = frames["mails"].merge(frames["customers"], on="customer_id")
    return mails[mails["mail_subject"].str.contains(CARD_NUMBER)]


# -- data --------------------------------------------------------------------------------------------------

def test_generator_is_deterministic_and_sized(generator):
    first, again = generator.generate(3000, seed=7), generator.generate(3000, seed=7)
    other = generator.generate(3000, seed=8)
    assert list(first) == ["customers", "mails"]
    assert list(first["customers"].columns) == ["customer_id", "first_name", "last_name", "email", "bank", "country",
                                                "customer_segment"]
    assert list(first["mails"].columns) == ["mail_id", "customer_id", "date", "mail_subject", "mail_text", "sentiment"]
    assert (len(first["customers"]), len(first["mails"])) == (300, 3000)
    for name in first:
        pd.testing.assert_frame_equal(first[name], again[name])
        assert not first[name].equals(other[name])


def test_generated_tables_fit_together_and_parse_by_splitting_lines(large):
    customers, mails = large["customers"], large["mails"]
    assert customers["customer_id"].is_unique and mails["mail_id"].is_unique
    assert set(mails["customer_id"]) <= set(customers["customer_id"])
    assert set(customers["country"]) == {"DE", "FR", "GB", "NL", "ES", "IT"}
    assert set(mails["sentiment"]) == {"positive", "negative"}
    assert mails["date"].between("2020-01-01", "2023-12-31").all() and (mails["date"] < "2021-01-01").any()
    for frame in (customers, mails):
        text = frame.to_csv(index=False)
        assert '"' not in text
        assert {line.count(",") for line in text.splitlines()} == {len(frame.columns) - 1}
    # Banks belong to their country; ING operates in Germany and the Netherlands.
    assert set(customers.loc[customers["bank"] == "ING", "country"]) == {"DE", "NL"}
    assert customers.groupby("bank")["country"].nunique().max() == 2


def test_sentiment_follows_words_and_segment(large):
    mails = large["mails"].merge(large["customers"], on="customer_id")
    positive_share = (mails["sentiment"] == "positive").groupby(mails["customer_segment"]).mean()
    assert positive_share["premium"] > positive_share["standard"] + 0.15
    has_thanks = mails["mail_text"].str.contains(r"\bthanks\b")
    assert (mails.loc[has_thanks, "sentiment"] == "positive").mean() > 0.65


def test_card_numbers_leak_only_for_the_chosen_banks_and_countries(generator, large):
    leaks = leaked(large)
    assert 0.15 < len(leaks) / len(large["mails"].merge(large["customers"]).query(
        "bank in ['Commerzbank', 'ING'] and country == 'DE'")) < 0.25
    assert set(leaks["bank"]) == {"Commerzbank", "ING"} and set(leaks["country"]) == {"DE"}
    numbers = leaks["mail_subject"].str.extract(f"({CARD_NUMBER.pattern})")[0]
    assert numbers.str.startswith("4").all() and numbers.map(luhn_valid).all() and numbers.is_unique
    assert not large["mails"]["mail_text"].str.contains(CARD_NUMBER).any()

    barclays = generator.generate(20_000, seed=5, leak_banks=("Barclays", "HSBC"), leak_countries=("GB",),
                                  leak_rate=1.0)
    chosen = barclays["mails"].merge(barclays["customers"]).query("bank in ['Barclays', 'HSBC'] and country == 'GB'")
    assert sorted(leaked(barclays)["mail_id"]) == sorted(chosen["mail_id"])
    assert leaked(generator.generate(20_000, seed=5, leak_rate=0.0)).empty


def test_generator_is_vectorised(generator):
    # CPU time of this process, not wall time: a loaded machine must not fail the test.
    started = time.process_time()
    frames = generator.generate(200_000, seed=1)
    assert len(frames["mails"]) == 200_000
    # Measured: about 0.8 s of CPU; a loop over rows in Python takes far longer.
    assert time.process_time() - started < 10


def test_committed_data_is_regenerated_byte_for_byte(generator, tmp_path):
    generator.write(tmp_path, generator.DEFAULT_MAILS)
    committed = EXAMPLE / "data"
    assert sorted(p.name for p in committed.iterdir()) == ["customers.csv", "mails.csv"]
    for name in ["customers.csv", "mails.csv"]:
        assert (tmp_path / name).read_bytes() == (committed / name).read_bytes(), name
        assert (committed / name).stat().st_size < 300_000
    assert len(pd.read_csv(committed / "mails.csv")) == 2000 and len(pd.read_csv(committed / "customers.csv")) == 200


def test_generator_command_line(generator, tmp_path, run_as_main):
    # Run as ``python generate_data.py ...`` runs it, in this process: the command line is its argparse.
    run_as_main(EXAMPLE / "generate_data.py", tmp_path / "cli", "--mails", 50, "--seed", 3)
    generator.write(tmp_path / "api", 50, seed=3)
    for name in ["customers.csv", "mails.csv"]:
        assert (tmp_path / "cli" / name).read_bytes() == (tmp_path / "api" / name).read_bytes()


# -- pipelines ---------------------------------------------------------------------------------------------

def test_pipelines_run_deterministically_on_the_committed_data(tmp_path, run_as_main, monkeypatch):
    process = subprocess.run([sys.executable, str(EXAMPLE / "pipeline.py")], capture_output=True, text=True,
                             env=child_environment(), cwd=tmp_path, timeout=300)
    assert process.returncode == 0, process.stderr
    assert RESULT_LINE.fullmatch(process.stdout), process.stdout
    assert "Warning" not in process.stderr, process.stderr
    # The second run in this process (another hash seed, torch loaded already), given the data folder.
    monkeypatch.chdir(tmp_path)
    assert run_as_main(EXAMPLE / "pipeline.py", EXAMPLE / "data") == process.stdout


def test_declarative_pipeline_is_a_valid_rewrite_of_the_messy_one():
    mails, customers = pd.read_csv(EXAMPLE / "data" / "mails.csv"), pd.read_csv(EXAMPLE / "data" / "customers.csv")
    joined = mails[mails["date"] >= "2021-01-01"].merge(customers[customers["country"].isin(KEPT_COUNTRIES)])
    rows = len(joined) - math.ceil(0.2 * len(joined))
    validator = Validator(EXAMPLE / "messy_pipeline.py", EXAMPLE / "pipeline.py", limits=Limits())
    try:
        validation = validator.validate((EXAMPLE / "pipeline.py").read_text())
    finally:
        validator.close()
    assert validation.passed, validation.evidence
    assert validation.summary == f"{rows} rows x 166 features agree (same row order, columns permuted)"
    assert RESULT_LINE.fullmatch(validator.reference().stdout + "\n")


def test_declarative_pipeline_dag(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = PipelineInspector.on_pipeline(str(EXAMPLE / "pipeline.py")).execute()
    nodes = [[n.operator_type.name, n.description, [p.node_id for p in result.parents(n)]] for n in result.nodes]
    assert nodes[:8] == [
        ["DATA_SOURCE", "Read mails.csv", []],
        ["DATA_SOURCE", "Read customers.csv", []],
        ["SELECTION", "Select: date >= '2021-01-01'", [0]],
        ["SELECTION", f"Select: country isin {KEPT_COUNTRIES}", [1]],
        ["JOIN", "Inner join on ['customer_id']", [2, 3]],
        ["PROJECTION_MODIFY", "Set column 'title': mail_subject.str.lower()", [4]],
        ["PROJECTION_MODIFY", "Set column 'text': title + ' ' + mail_text.str.lower()", [5]],
        ["PROJECTION_MODIFY", "Set column 'is_premium': customer_segment == 'premium'", [6]],
    ]
    kinds = [kind for kind, _, _ in nodes]
    assert kinds.count("TRAIN_TEST_SPLIT") == 2 and kinds.count("CONCATENATION") == 2
    assert ["ESTIMATOR", "TorchMLPClassifier: fit"] in [node[:2] for node in nodes]
    assert nodes[-1][:2] == ["SCORE", "TorchMLPClassifier: score"]
