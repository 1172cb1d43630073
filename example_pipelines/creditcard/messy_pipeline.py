# Sentiment of customer mails -- quick and dirty version, written the way the
# Lester paper's running example is: CSV files parsed by hand, a hand-coded
# hash join, Python loops and NumPy for the features. Same computation as
# pipeline.py; `lester-inspect rewrite` turns this into that.
#
# Usage: python messy_pipeline.py [DATA_DIR]   (default: data/ next to this file)
import math
import os
import re
import sys

import numpy as np
from sklearn.utils import murmurhash3_32

from lester_inspect.models import TorchMLPClassifier

if len(sys.argv) > 1:
    data_dir = sys.argv[1]
else:
    data_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")

# customers of the countries we care about, by id
customers = {}
f = open(os.path.join(data_dir, "customers.csv"))
lines = f.read().split("\n")
f.close()
for line in lines[1:]:
    if line == "":
        continue
    parts = line.split(",")
    if parts[5] in ("DE", "FR", "GB", "NL"):
        customers[parts[0]] = (parts[4], parts[5], parts[6])

# mails since 2021, joined with their customer
rows = []
f = open(os.path.join(data_dir, "mails.csv"))
header = f.readline()
for line in f:
    parts = line.rstrip("\n").split(",")
    if parts[2] < "2021-01-01":
        continue
    if parts[1] in customers:
        bank, country, segment = customers[parts[1]]
        title = parts[3].lower()
        rows.append([title, title + " " + parts[4].lower(), country, segment == "premium", parts[5]])
f.close()

# shuffle and keep 20% of the rows for testing
rng = np.random.RandomState(42)
perm = rng.permutation(len(rows))
n_test = math.ceil(0.2 * len(rows))
test = [rows[i] for i in perm[:n_test]]
train = [rows[i] for i in perm[n_test:]]


def hash_words(texts, n):
    # signed hashing trick on words of 2+ characters, then unit length rows
    m = np.zeros((len(texts), n))
    for i in range(len(texts)):
        for w in re.findall(r"(?u)\b\w\w+\b", texts[i].lower()):
            h = murmurhash3_32(w, seed=0)
            if h >= 0:
                m[i, abs(h) % n] += 1
            else:
                m[i, abs(h) % n] -= 1
        norm = math.sqrt(np.sum(m[i] ** 2))
        if norm > 0:
            m[i] = m[i] / norm
    return m


countries = sorted(set([r[2] for r in train]))
counts = np.array([len(r[0].split()) for r in train], dtype=float)
mean_count = counts.mean()
std_count = counts.std()


def features(rs):
    onehot = np.zeros((len(rs), len(countries)))
    for i in range(len(rs)):
        if rs[i][2] in countries:
            onehot[i, countries.index(rs[i][2])] = 1.0
    n_words = np.array([len(r[0].split()) for r in rs], dtype=float)
    premium = np.array([1.0 if r[3] else 0.0 for r in rs])
    return np.hstack([
        onehot,
        ((n_words - mean_count) / std_count).reshape(-1, 1),
        hash_words([r[0] for r in rs], 32),
        hash_words([r[1] for r in rs], 128),
        premium.reshape(-1, 1),
    ])


X_train = features(train)
y_train = np.array([1 if r[4] == "positive" else 0 for r in train])

model = TorchMLPClassifier(hidden_layer_sizes=(16,), epochs=10, batch_size=64, learning_rate=1e-2, random_state=0)
model.fit(X_train, y_train)

X_test = features(test)
y_test = np.array([1 if r[4] == "positive" else 0 for r in test])
accuracy = np.mean(model.predict(X_test) == y_test)
print(f"Test accuracy: {accuracy:.4f}")
