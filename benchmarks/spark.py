"""Inspecting, capturing and forgetting on the PySpark credit card pipeline, as ratios measured in one run.

For each size (mails; ten per customer) the data is generated once, then the pipeline runs in
fresh processes (each its own JVM, ``local[2]``): plain, instrumented without inspections, and
with row lineage + histograms + the bias check. Each line gives the whole-process wall time, its
ratio to the plain run, the CPU seconds of the driver (Python process + driver JVM, which in local
mode runs every task: steadier than wall time on a shared machine) and its ratio, the load average
before and after, and the peak resident memory of the driver: the Python process and the
driver JVM (in local mode the JVM also runs the executors' tasks, so its peak also grows with
the work per task; ``spark.driver.memory`` caps its heap).

Then a capture run (``ArtifactCapture``) and, in a fresh process without Spark, ``forget`` of 5
customers (instance deletion: their mails' rows leave the stored Parquet files, the logistic
regression gets its first-order update), three requests for different customers one after the
other, as ``ivm.py`` does: the median call time (the first also pays the process's imports); the
ratio is the plain run's wall time (re-executing the pipeline) over it.

Usage: ``python benchmarks/spark.py [--mails 1000000 10000000] [--keep DIR] [--modes MODE ...]``
(``--modes plain lineage+histograms+bias plain lineage+histograms+bias``: back-to-back pairs).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PIPELINE = os.path.join(ROOT, "example_pipelines", "creditcard_spark", "pipeline.py")
_SESSION = ("from lester_inspect.spark.session import local_session\n"
            "spark = local_session(2, 8)\n")
_PEAKS = ("import json, os\n"
          "def _peak(pid):\n"
          "    for line in open(f'/proc/{pid}/status'):\n"
          "        if line.startswith('VmHWM:'):\n"
          "            return int(line.split()[1]) / 1024\n"
          "def _cpu(pid):\n"
          "    fields = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()\n"
          "    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')\n"
          "jvm = spark.sparkContext._gateway.proc.pid\n"
          "print('LESTER-PEAKS ' + json.dumps({'python': _peak(os.getpid()), 'jvm': _peak(jvm),\n"
          "                                    'python_cpu': _cpu(os.getpid()), 'jvm_cpu': _cpu(jvm)}))\n")
_INSPECT = "from lester_inspect import PipelineInspector\n"
MODES = {
    "plain": _SESSION + (
        "import runpy, sys\nsys.argv = [{pipeline!r}, {data!r}]\nrunpy.run_path({pipeline!r}, run_name='__main__')\n"),
    "instrumented": _SESSION + _INSPECT + "PipelineInspector.on_pipeline({pipeline!r}, [{data!r}]).execute()\n",
    "lineage+histograms+bias": _SESSION + _INSPECT + (
        "from lester_inspect.checks import NoBiasIntroducedFor\n"
        "from lester_inspect.inspections import HistogramForColumns, RowLineage\n"
        "(PipelineInspector.on_pipeline({pipeline!r}, [{data!r}]).add_inspection(RowLineage(5))"
        ".add_inspection(HistogramForColumns(['country'])).add_check(NoBiasIntroducedFor(['country'])).execute())\n"),
    "capture": _SESSION + _INSPECT + (
        "from lester_inspect.inspections import ArtifactCapture\n"
        "PipelineInspector.on_pipeline({pipeline!r}, [{data!r}]).add_inspection(ArtifactCapture({store!r}))"
        ".execute()\n"),
}
_FORGET = ("import statistics, time\n"
           "from lester_inspect.ivm import ArtifactStore, RowSpec\n"
           "store = ArtifactStore({store!r})\n"
           "times = []\n"
           "for group in {groups!r}:\n"
           "    rows = RowSpec({customers!r}, key='customer_id', values=group)\n"
           "    store.affected_runs(rows)\n"  # untimed: it also builds the key column's index, as in ivm.py
           "    started = time.perf_counter()\n"
           "    report = store.forget(rows)\n"
           "    times.append(time.perf_counter() - started)\n"
           "    print(report)\n"
           "print('LESTER-FORGET ' + str(statistics.median(times)))\n")


def _generator():
    path = os.path.join(ROOT, "example_pipelines", "creditcard_spark", "generate_data.py")
    spec = importlib.util.spec_from_file_location("creditcard_spark_generate_data", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(code: str, cwd: str):
    """Wall seconds and the marked lines of one fresh Python process running ``code``."""
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"benchmark process failed:\n{completed.stderr[-3000:]}")
    marked = {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in completed.stdout.splitlines()
              if line.startswith("LESTER-")}
    return elapsed, marked, completed.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--keep", help="folder for the generated data (default: a temporary one)")
    parser.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES),
                        help="which runs to make (the first is the baseline of the ratios; forget needs capture)")
    arguments = parser.parse_args()
    generator = _generator()
    with tempfile.TemporaryDirectory() as scratch:
        for mails in arguments.mails:
            folder = os.path.join(arguments.keep or scratch, f"mails_{mails}")
            data = os.path.join(folder, "data")
            if not os.path.exists(os.path.join(data, "mails.csv")):
                generator.write(data, mails)
            store = os.path.join(folder, "store")
            shutil.rmtree(store, ignore_errors=True)
            plain = plain_cpu = None
            for mode in arguments.modes:
                code = MODES[mode].format(pipeline=PIPELINE, data=data, store=store) + _PEAKS
                load = os.getloadavg()[0]
                elapsed, marked, _ = _run(code, folder)
                peaks = json.loads(marked["LESTER-PEAKS"])
                cpu = peaks["python_cpu"] + peaks["jvm_cpu"]
                plain, plain_cpu = plain or elapsed, plain_cpu or cpu
                print(f"{mails:>11,} mails  {mode:<24} {elapsed:8.1f} s  {elapsed / plain:5.2f}x plain  "
                      f"driver CPU {cpu:7.1f} s {cpu / plain_cpu:5.2f}x  peak driver: Python {peaks['python']:6.0f} MB, "
                      f"JVM {peaks['jvm']:6.0f} MB  load {load:4.1f}-{os.getloadavg()[0]:4.1f}", flush=True)
            if "capture" not in arguments.modes:
                continue
            import pandas as pd

            customers = pd.read_csv(os.path.join(data, "customers.csv"))
            kept = customers.loc[customers["country"].isin(["DE", "FR", "GB", "NL"]), "customer_id"].astype(str)
            groups = [tuple(kept.iloc[i:i + 5]) for i in (0, 5, 10)]
            code = _FORGET.format(store=store, customers=os.path.join(data, "customers.csv"), groups=groups)
            elapsed, marked, output = _run(code, folder)
            call = float(marked["LESTER-FORGET"])
            print(f"{mails:>11,} mails  forget 5 customers       {call:8.3f} s (median of 3 requests; process "
                  f"{elapsed:.1f} s)  re-execution / forget = {plain / call:,.0f}x", flush=True)
            print("    " + "\n    ".join(line for line in output.splitlines() if not line.startswith("LESTER-")))


if __name__ == "__main__":
    main()
