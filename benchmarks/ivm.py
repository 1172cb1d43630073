"""IVM vs re-execution: forget and rectify on the credit card pipeline, forget on the healthcare pipeline.

Credit card: for each size (mails; customers = mails / 10) it generates data, and measures in
fresh processes the plain run (``python pipeline.py DATA``, i.e. re-executing from
scratch) and the capture run (``lester-inspect capture``); then, in this process
(with torch already imported, as in a running service), the user's workflow for
5 leaking customers: ``affected_runs`` (untimed; it also indexes the key column) and
then ``forget`` of their mail subjects (timed). That is done for three disjoint groups of
5 customers, one request after the other, and the median time is reported (the first
request also pays the process's first-use costs). Then ``rectify`` of three further groups of
5 leaking customers (card numbers cut out of their subjects; titles and texts re-derived,
feature rows re-encoded, the model updated with the corrected rows), median time.
It prints the times and ratios, then compares the updated model with one retrained from
scratch on the corrected training data: test accuracy of both, and the share of test
predictions on which they agree. Below the table, each request's time is split into the
steps ``forget`` reports.

Healthcare: for each size (patients) the same plain and capture runs, then three requests to
forget 5 patients each (instance deletion) whose age groups' mean complications, and the
labels computed from them, are maintained; median time, and whether the maintained group
means and training labels equal those computed from scratch (pandas on the corrected sources).

    python benchmarks/ivm.py                   # 10k, 100k and 1M mails; 1M patients
    python benchmarks/ivm.py --sizes 10000 --health-sizes 10000
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
HEALTH = os.path.join(ROOT, "example_pipelines", "healthcare")
CARD = re.compile(r"\b\d{4} \d{4} \d{4} \d{4}\b")


def timed(command, cwd) -> float:
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=ROOT))
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{completed.stderr}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--health-sizes", type=int, nargs="*", default=[1_000_000])
    parser.add_argument("--work-dir", default=os.path.join(tempfile.gettempdir(), "lester-inspect-ivm"))
    arguments = parser.parse_args()

    import numpy as np
    import pandas as pd
    import torch  # noqa: F401  (loaded up front, as in a service that serves forget requests)

    from lester_inspect.ivm import ArtifactStore, ColumnSpec, RowSpec
    from lester_inspect.ivm import unlearning  # noqa: F401
    from lester_inspect.ivm.rectify import Correction
    from lester_inspect.models import TorchMLPClassifier

    spec = importlib.util.spec_from_file_location("generator", os.path.join(EXAMPLE, "generate_data.py"))
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    print(f"{'mails':>9} {'re-run s':>9} {'capture s':>10} {'capture x':>9} {'forget s':>9} {'speed-up':>9} "
          f"{'rectify s':>9} {'speed-up':>9} {'acc upd':>8} {'acc retr':>8} {'agree':>6}")
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
        rectify_times = []
        for request in range(3, 6):
            rows = RowSpec("data/customers.csv", key="customer_id",
                           values=tuple(map(str, leaking[5 * request:5 * request + 5])))
            assert store.affected_runs(rows, column) == [run_id]
            started = time.perf_counter()
            report = store.rectify(rows, column, Correction.replace(CARD.pattern + "=>"))
            rectify_times.append(time.perf_counter() - started)
            steps.append(", ".join(f"{step.split(': ')[-1]} {1000 * seconds:.1f}"
                                   for step, seconds in report.timings.items()))
        rectify = float(np.median(rectify_times))
        run = store.load(run_id)
        updated = run["model"]
        retrained = TorchMLPClassifier(**updated.get_params()).fit(run["train"]["X"], run["train"]["y"])
        X_test, y_test = run["test"]["X"], run["test"]["y"]
        predictions_updated, predictions_retrained = updated.predict(X_test), retrained.predict(X_test)
        print(f"{size:>9} {rerun:>9.1f} {capture:>10.1f} {capture / rerun:>9.2f} {forget:>9.3f} "
              f"{rerun / forget:>9.0f} {rectify:>9.3f} {rerun / rectify:>9.0f} {np.mean(predictions_updated == y_test):>8.4f} "
              f"{np.mean(predictions_retrained == y_test):>8.4f} "
              f"{np.mean(predictions_updated == predictions_retrained):>6.3f}", flush=True)
        details.extend(f"  {size} mails, {'forget' if n < 3 else 'rectify'} request {n % 3 + 1}: {1000 * t:.1f} ms "
                       f"({s} ms)" for n, (t, s) in enumerate(zip(times + rectify_times, steps)))
        os.chdir(ROOT)
    if details:
        print("forget and rectify, per request and step:\n" + "\n".join(details))
    if arguments.health_sizes:
        healthcare(arguments)


def healthcare(arguments) -> None:
    """Forget patients on the healthcare pipeline: group means and the labels computed from them maintained."""
    import numpy as np
    import pandas as pd

    from lester_inspect.ivm import ArtifactStore, RowSpec, columnar

    spec = importlib.util.spec_from_file_location("health_generator", os.path.join(HEALTH, "generate_data.py"))
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    print(f"\n{'patients':>9} {'re-run s':>9} {'capture s':>10} {'capture x':>9} {'forget s':>9} {'speed-up':>9} "
          f"{'relabelled':>10} {'means exact':>11} {'labels exact':>12}")
    details = []
    for size in arguments.health_sizes:
        work = os.path.join(arguments.work_dir, f"patients_{size}")
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        generator.write(os.path.join(work, "data"), size)
        rerun = timed([sys.executable, os.path.join(HEALTH, "pipeline.py"), "data"], work)
        capture = timed(["lester-inspect", "capture", "--name", "healthcare", "--store", ".lester",
                         os.path.join(HEALTH, "pipeline.py"), "data"], work)
        os.chdir(work)
        store = ArtifactStore(".lester")
        run_id = store.runs()["run_id"].iloc[-1]
        before = store.load(run_id)["train"]["y"]
        rng = np.random.default_rng(0)
        removed, times = [], []
        for request in range(3):
            positions = tuple(sorted(rng.choice(size, 5, replace=False).tolist()))
            rows = RowSpec("data/patients.csv", positions=positions)
            assert store.affected_runs(rows) == [run_id]
            started = time.perf_counter()
            report = store.forget(rows)
            times.append(time.perf_counter() - started)
            removed.extend(positions)
            details.append(f"  {size} patients, request {request + 1}: {1000 * times[-1]:.1f} ms (" + ", ".join(
                f"{step.split(': ')[-1]} {1000 * seconds:.1f}" for step, seconds in report.timings.items()) + " ms)")
        forget = float(np.median(times))
        # From scratch on the corrected sources, with pandas: the group means and the labels.
        patients = pd.read_csv("data/patients.csv", na_values="?").drop(index=removed)
        histories = pd.read_csv("data/histories.csv", na_values="?")
        data = patients.merge(histories, on=["ssn"])
        means = data.groupby("age_group")["complications"].mean()
        maintained = columnar.read_frame(os.path.join(".lester", "runs", run_id, "views", "0", "groups"))
        means_exact = maintained.set_index("age_group")["mean_complications"].to_dict() == means.to_dict()
        run = store.load(run_id)
        original = pd.read_csv("data/patients.csv", na_values="?", usecols=["ssn", "age_group"])
        rows = original.iloc[run["train"]["lineage"]["patients"]].merge(histories, on="ssn", how="left")
        expected = (rows["complications"] > 1.2 * rows["age_group"].map(means)).to_numpy()
        labels_exact = bool(np.array_equal(expected, run["train"]["y"]))
        relabelled = int(np.sum(before[np.setdiff1d(np.arange(len(before)), _removed_train(store, run_id))]
                                != run["train"]["y"]))
        print(f"{size:>9} {rerun:>9.1f} {capture:>10.1f} {capture / rerun:>9.2f} {forget:>9.3f} {rerun / forget:>9.0f} "
              f"{relabelled:>10} {str(means_exact):>11} {str(labels_exact):>12}", flush=True)
        os.chdir(ROOT)
    print("healthcare forget, per request and step:\n" + "\n".join(details))


def _removed_train(store, run_id):
    from lester_inspect.ivm import columnar

    return columnar.read_state(os.path.join(store.path, "runs", run_id, "train"))["deleted_rows"]


if __name__ == "__main__":
    main()
