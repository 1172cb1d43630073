# Sentiment of bank customers' mails -- in the style of the Lester paper's "credit cards" messy
# script: customers and mails parsed line by line from header-less CSV files, dates parsed with
# dateutil, a dict join on the e-mail address, the joined rows written to a temporary file and
# read back with pandas. The original labelled each mail with a Hugging Face sentiment model
# (downloaded at run time); a sandbox has no network, so this one counts words of a small lexicon.
#
# Usage: python creditcards.py [CUSTOMERS_CSV MAILS_CSV]   (default: both in the working directory)
import os
import sys
import tempfile

import numpy as np
import pandas as pd
from dateutil import parser
from sklearn.linear_model import LogisticRegression

customers_file, mails_file = sys.argv[1:3] if len(sys.argv) > 2 else ("customers.csv", "mails.csv")
target_countries = ["UK", "DE", "FR"]
POSITIVE = {"great", "love", "perfect", "excellent", "happy", "recommend"}
NEGATIVE = {"broken", "refund", "terrible", "late", "disappointed", "complaint"}


def sanitize(text):
    return text.lower()


def sentiment_of(text):
    words = text.lower().split()
    score = sum(w in POSITIVE for w in words) - sum(w in NEGATIVE for w in words)
    return "positive" if score >= 0 else "negative"


customer_data = {}
with tempfile.NamedTemporaryFile(mode="w+", delete=False) as output_file:
    with open(customers_file) as file:
        for line in file:
            customer_id, customer_email, bank, country, level = line.strip().split(",")
            if country in target_countries:
                customer_data[customer_email] = (bank, country, level == "premium")

    with open(mails_file) as file:
        for line in file:
            mail_id, email, raw_date, mail_subject, mail_text = line.strip().split(",")
            if parser.parse(raw_date).year >= 2022 and email in customer_data:
                bank, country, is_premium = customer_data[email]
                output_file.write(f"{sanitize(mail_subject)}\t{sanitize(mail_text)}\t{bank}\t{country}\t"
                                  f"{sentiment_of(mail_text)}\t{is_premium}\n")

result = pd.read_csv(output_file.name, sep="\t", header=None,
                     names=["title", "text", "bank", "country", "sentiment", "is_premium"])
if os.path.exists(output_file.name):
    os.remove(output_file.name)

vocabulary = sorted(set(" ".join(result["text"]).split()))
X = np.zeros((len(result), len(vocabulary) + len(target_countries) + 1))
for i, (text, country, premium) in enumerate(zip(result["text"], result["country"], result["is_premium"])):
    for word in text.split():
        X[i, vocabulary.index(word)] += 1
    X[i, len(vocabulary) + target_countries.index(country)] = 1
    X[i, -1] = 1.0 if premium else 0.0
y = (result["sentiment"] == "positive").to_numpy()

model = LogisticRegression(max_iter=1000)
model.fit(X, y)
print(f"rows: {len(result)}, training accuracy: {model.score(X, y):.3f}")
