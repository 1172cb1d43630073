"""Writes policies.csv and claims.csv for the messy claims pipeline: ``write(folder, claims, seed)``."""
import numpy as np
import pandas as pd

REGIONS = ["north", "south", "east", "west"]


def write(folder, claims=300, seed=0):
    rng = np.random.default_rng(seed)
    policies = pd.DataFrame({
        "policy_id": [f"P{i:04d}" for i in range(claims // 3)],
        "region": rng.choice(REGIONS, claims // 3),
        "premium": rng.integers(200, 2000, claims // 3).astype(float),
        "age": rng.integers(18, 90, claims // 3),
    })
    amounts = rng.gamma(2.0, 400.0, claims).round(2)
    picked = rng.integers(0, len(policies), claims)
    fraud = (amounts / policies["premium"].to_numpy()[picked] + rng.normal(0, 0.5, claims) > 1.2).astype(int)
    claims_frame = pd.DataFrame({"claim_id": [f"C{i:05d}" for i in range(claims)],
                                 "policy_id": policies["policy_id"].to_numpy()[picked], "amount": amounts,
                                 "fraud": fraud})
    policies.to_csv(f"{folder}/policies.csv", index=False)
    claims_frame.to_csv(f"{folder}/claims.csv", index=False)
