# Fraud among insurance claims -- quick and dirty: the CSV files are opened by
# relative path from the working directory and parsed by hand, the join is a dict.
import numpy as np
from sklearn.linear_model import LogisticRegression

policies = {}
for line in open("policies.csv").read().splitlines()[1:]:
    policy_id, region, premium, age = line.split(",")
    if region != "north":
        policies[policy_id] = (region, float(premium), int(age))

rows = []
for line in open("claims.csv").read().splitlines()[1:]:
    claim_id, policy_id, amount, fraud = line.split(",")
    if policy_id in policies:
        region, premium, age = policies[policy_id]
        rows.append((region, premium, float(amount), fraud == "1"))

regions = sorted(set(r[0] for r in rows))
X = np.array([[1.0 if r[0] == g else 0.0 for g in regions] + [r[1], r[2] / r[1]] for r in rows])
y = np.array([1 if r[3] else 0 for r in rows])

model = LogisticRegression(max_iter=500)
model.fit(X, y)
print(f"training accuracy: {model.score(X, y):.3f}")
