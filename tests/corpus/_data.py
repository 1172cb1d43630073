"""The corpus' data: small, deterministic, generated (no downloads).

``write_all(folder)`` writes every file the pipelines read. ``SOURCES`` names, for
each file, its key column and a free-text column; every pipeline's header says which
of them it trains on (``corpus: source=... key=... text=...``), and that text column
reaches the training data, so a test can plant canaries in it and follow them.
"""
from __future__ import annotations

import os
import sqlite3

import numpy as np
import pandas as pd

#: file -> (key column, text column that reaches the training data)
SOURCES = {
    "customers.csv": ("customer_id", "notes"),
    "orders.csv": ("order_id", "review"),
    "products.xlsx": ("product_id", "description"),
    "loans.tsv": ("loan_id", "purpose"),
    "sensors.feather": ("device_id", "status_text"),
    "support.db": ("ticket_id", "subject"),
    "employees.json": ("emp_id", "review_text"),
}

_CITIES = ["Berlin", "Paris", "Madrid", "Rome", "Vienna"]
_WORDS = ["late", "delivery", "great", "price", "quality", "support", "refund", "fast", "broken", "happy",
          "email", "phone", "discount", "loyal", "complaint", "gift", "return", "size", "color", "app"]


def _text(random: np.random.RandomState, count: int, words: int = 5) -> list:
    return [" ".join(random.choice(_WORDS, size=random.randint(2, words + 1))) for _ in range(count)]


def customers(random: np.random.RandomState, count: int = 160) -> pd.DataFrame:
    age = random.randint(18, 80, size=count).astype(float)
    age[random.rand(count) < 0.08] = np.nan
    income = np.round(random.lognormal(10, 0.4, size=count), 2)
    frame = pd.DataFrame({
        "customer_id": [f"C{i:04d}" for i in range(count)],
        "name": [f"Customer {i}" for i in range(count)],
        "email": [f"c{i}@example.org" for i in range(count)],
        "city": random.choice(_CITIES, size=count),
        "age": age,
        "income": income,
        "signup": pd.Timestamp("2021-01-01") + pd.to_timedelta(random.randint(0, 900, size=count), unit="D"),
        "segment": random.choice(["basic", "plus", "pro"], size=count, p=[0.5, 0.3, 0.2]),
        "notes": _text(random, count),
    })
    frame["signup"] = frame["signup"].dt.strftime("%Y-%m-%d")
    score = (frame["segment"] == "basic") * 0.8 + (frame["age"].fillna(40) < 30) * 0.5 + random.rand(count)
    frame["churned"] = (score > 1.0).astype(int)
    return frame


def orders(random: np.random.RandomState, customer_ids: list, products: list, count: int = 500) -> pd.DataFrame:
    return pd.DataFrame({
        "order_id": [f"O{i:05d}" for i in range(count)],
        "customer_id": random.choice(customer_ids, size=count),
        "product_id": random.choice(products, size=count),
        "amount": np.round(random.gamma(2.0, 30.0, size=count), 2),
        "quantity": random.randint(1, 6, size=count),
        "order_date": (pd.Timestamp("2022-01-01") + pd.to_timedelta(random.randint(0, 365, size=count), unit="D")
                       ).strftime("%Y-%m-%d"),
        "channel": random.choice(["web", "app", "store"], size=count),
        "review": _text(random, count),
        "returned": (random.rand(count) < 0.2).astype(int),
    })


def products(random: np.random.RandomState, count: int = 30) -> pd.DataFrame:
    return pd.DataFrame({
        "product_id": [f"P{i:03d}" for i in range(count)],
        "category": random.choice(["books", "garden", "toys", "kitchen"], size=count),
        "price": np.round(random.uniform(3, 200, size=count), 2),
        "description": _text(random, count, 7),
        "discontinued": (random.rand(count) < 0.3).astype(int),
    })


def loans(random: np.random.RandomState, count: int = 200) -> pd.DataFrame:
    grade = random.choice(list("ABCDE"), size=count)
    amount = np.round(random.uniform(1000, 30000, size=count), -2)
    frame = pd.DataFrame({
        "loan_id": np.arange(1000, 1000 + count),
        "applicant": [f"A{i}" for i in range(count)],
        "purpose": _text(random, count),
        "amount": amount,
        "term": random.choice([36, 60], size=count),
        "grade": grade,
        "employment_years": random.choice(["<1", "1-3", "3-5", "5+", None], size=count),
        "issued": (pd.Timestamp("2019-01-01") + pd.to_timedelta(random.randint(0, 1000, size=count), unit="D")
                   ).strftime("%Y-%m-%d"),
    })
    risk = (frame["grade"] >= "D") * 0.6 + (frame["amount"] > 20000) * 0.3 + random.rand(count) * 0.6
    frame["defaulted"] = (risk > 0.7).astype(int)
    return frame


def sensors(random: np.random.RandomState, devices: int = 8, readings: int = 24) -> pd.DataFrame:
    count = devices * readings
    temperature = np.round(random.normal(60, 8, size=count), 1)
    temperature[random.rand(count) < 0.05] = np.nan
    return pd.DataFrame({
        "device_id": np.repeat([f"D{i:02d}" for i in range(devices)], readings),
        "timestamp": np.tile(pd.date_range("2023-03-01", periods=readings, freq="h").strftime("%Y-%m-%d %H:%M"),
                             devices),
        "temperature": temperature,
        "vibration": np.round(random.gamma(2, 0.5, size=count), 3),
        "status_text": random.choice(["ok", "ok", "warn fan noise", "ok restart", "error overheating"], size=count),
        "failure": (random.rand(count) < 0.15).astype(int),
    })


def tickets(random: np.random.RandomState, customer_ids: list, count: int = 160) -> pd.DataFrame:
    return pd.DataFrame({
        "ticket_id": np.arange(1, count + 1),
        "customer_id": random.choice(customer_ids, size=count),
        "subject": _text(random, count),
        "priority": random.choice(["low", "medium", "high"], size=count),
        "opened": (pd.Timestamp("2022-06-01") + pd.to_timedelta(random.randint(0, 200, size=count), unit="D")
                   ).strftime("%Y-%m-%d"),
        "hours_open": np.round(random.exponential(20, size=count), 1),
        "escalated": (random.rand(count) < 0.25).astype(int),
    })


def employees(random: np.random.RandomState, count: int = 150) -> pd.DataFrame:
    return pd.DataFrame({
        "emp_id": [f"E{i:03d}" for i in range(count)],
        "dept": random.choice(["sales", "it", "hr", "ops"], size=count),
        "salary": np.round(random.normal(52000, 9000, size=count), 0),
        "tenure": random.randint(0, 20, size=count),
        "rating_2022": random.randint(1, 6, size=count),
        "rating_2023": random.randint(1, 6, size=count),
        "review_text": _text(random, count),
        "left": (random.rand(count) < 0.3).astype(int),
    })


def write_all(folder: str, seed: int = 7) -> dict:
    """Write every data file into ``folder``; returns {file name: path}."""
    os.makedirs(folder, exist_ok=True)
    random = np.random.RandomState(seed)
    people = customers(random)
    catalogue = products(random)
    paths = {name: os.path.join(folder, name) for name in SOURCES}
    people.to_csv(paths["customers.csv"], index=False)
    orders(random, list(people["customer_id"]), list(catalogue["product_id"])).to_csv(paths["orders.csv"],
                                                                                      index=False)
    catalogue.to_excel(paths["products.xlsx"], index=False)
    loans(random).to_csv(paths["loans.tsv"], sep="\t", index=False)
    sensors(random).to_feather(paths["sensors.feather"])
    if os.path.exists(paths["support.db"]):
        os.remove(paths["support.db"])
    with sqlite3.connect(paths["support.db"]) as connection:
        tickets(random, list(people["customer_id"])).to_sql("tickets", connection, index=False)
    connection.close()
    employees(random).to_json(paths["employees.json"], orient="records", lines=True)
    return paths
