"""IVM vs re-execution on the credit card pipeline, and the fidelity of the updated model.

For each size (mails; customers = mails / 10) it generates data, and measures in
fresh processes the plain run (``python pipeline.py DATA``, i.e. re-executing from
scratch) and the capture run (``lester-inspect capture``); then, in this process
(with torch already imported, as in a running service), the user's workflow for
5 leaking customers: ``affected_runs`` (untimed; it also indexes the key column) and
then ``forget`` of their mail subjects (timed). That is done for three disjoint groups of
5 customers, one request after the other, and the median time is reported (the first
request also pays the process's first-use costs). It prints the times and ratios, then
compares the updated model with one retrained from scratch on the corrected training data:
test accuracy of both, and the share of test predictions on which they agree. Below the
table, each request's time is split into the steps ``forget`` reports.

    python benchmarks/ivm.py                   # 10k, 100k and 1M mails
    python benchmarks/ivm.py --sizes 10000
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "example_pipelines", "creditcard")
CARD = re.compile(r"\b\d{4} \d{4} \d{4} \d{4}\b")


def timed(command, cwd) -> float:
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=ROOT))
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{completed.stderr}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--work-dir", default=os.path.join(tempfile.gettempdir(), "lester-inspect-ivm"))
    arguments = parser.parse_args()

    import numpy as np
    import pandas as pd
    import torch  # noqa: F401  (loaded up front, as in a service that serves forget requests)

    from lester_inspect.ivm import ArtifactStore, ColumnSpec, RowSpec
    from lester_inspect.ivm import unlearning  # noqa: F401
    from lester_inspect.models import TorchMLPClassifier

    spec = importlib.util.spec_from_file_location("generator", os.path.join(EXAMPLE, "generate_data.py"))
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    print(f"{'mails':>9} {'re-run s':>9} {'capture s':>10} {'capture x':>9} {'forget s':>9} {'speed-up':>9} "
          f"{'acc upd':>8} {'acc retr':>8} {'agree':>6}")
    details = []
    for size in arguments.sizes:
        work = os.path.join(arguments.work_dir, f"mails_{size}")
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        generator.write(os.path.join(work, "data"), size)
        rerun = timed([sys.executable, os.path.join(EXAMPLE, "pipeline.py"), "data"], work)
        capture = timed(["lester-inspect", "capture", "--name", "creditcard", "--store", ".lester",
                         os.path.join(EXAMPLE, "pipeline.py"), "data"], work)
        os.chdir(work)
        mails = pd.read_csv("data/mails.csv", usecols=["customer_id", "mail_subject"])
        leaking = sorted(mails.loc[mails["mail_subject"].str.contains(CARD, na=False), "customer_id"].unique())
        store = ArtifactStore(".lester")
        run_id = store.runs()["run_id"].iloc[-1]
        column = ColumnSpec("data/mails.csv", "mail_subject")
        times, steps = [], []
        for request in range(3):
            rows = RowSpec("data/customers.csv", key="customer_id",
                           values=tuple(map(str, leaking[5 * request:5 * request + 5])))
            assert store.affected_runs(rows, column) == [run_id]
            started = time.perf_counter()
            report = store.forget(rows, column)
            times.append(time.perf_counter() - started)
            steps.append(", ".join(f"{step.split(': ')[-1]} {1000 * seconds:.1f}"
                                   for step, seconds in report.timings.items()))
        forget = float(np.median(times))
        run = store.load(run_id)
        updated = run["model"]
        retrained = TorchMLPClassifier(**updated.get_params()).fit(run["train"]["X"], run["train"]["y"])
        X_test, y_test = run["test"]["X"], run["test"]["y"]
        predictions_updated, predictions_retrained = updated.predict(X_test), retrained.predict(X_test)
        print(f"{size:>9} {rerun:>9.1f} {capture:>10.1f} {capture / rerun:>9.2f} {forget:>9.3f} "
              f"{rerun / forget:>9.0f} {np.mean(predictions_updated == y_test):>8.4f} "
              f"{np.mean(predictions_retrained == y_test):>8.4f} "
              f"{np.mean(predictions_updated == predictions_retrained):>6.3f}", flush=True)
        details.extend(f"  {size} mails, request {n + 1}: {1000 * t:.1f} ms ({s} ms)"
                       for n, (t, s) in enumerate(zip(times, steps)))
        os.chdir(ROOT)
    print("forget, per request and step:\n" + "\n".join(details))


if __name__ == "__main__":
    main()
