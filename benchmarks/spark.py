"""Overhead of inspecting the PySpark credit card pipeline, as ratios of whole-process wall time.

For each size (mails; ten per customer) the data is generated once, then the pipeline
runs in a fresh process (its own JVM, ``local[2]``) three times: plain, instrumented
without inspections, and with row lineage + histograms + the bias check. Each line
gives the wall time of the whole process, the ratio to the plain run, and the peak
resident memory of the Python driver process (the JVM is a child of it and is not
included; Spark's driver heap is set by ``spark.driver.memory``).

Usage: ``python benchmarks/spark.py [--mails 1000000 10000000] [--keep DIR]``.

Not measured here: capture and forget on Spark runs (not implemented yet).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PIPELINE = os.path.join(ROOT, "example_pipelines", "creditcard_spark", "pipeline.py")
_SESSION = ("from pyspark.sql import SparkSession\n"
            "SparkSession.builder.master('local[2]').config('spark.ui.enabled', 'false')"
            ".config('spark.sql.shuffle.partitions', '4').getOrCreate()\n")
MODES = {
    "plain": _SESSION + (
        "import runpy, sys\nsys.argv = [{pipeline!r}, {data!r}]\nrunpy.run_path({pipeline!r}, run_name='__main__')\n"),
    "instrumented": _SESSION + (
        "from lester_inspect import PipelineInspector\n"
        "PipelineInspector.on_pipeline({pipeline!r}, [{data!r}]).execute()\n"),
    "lineage+histograms+bias": _SESSION + (
        "from lester_inspect import PipelineInspector\n"
        "from lester_inspect.checks import NoBiasIntroducedFor\n"
        "from lester_inspect.inspections import HistogramForColumns, RowLineage\n"
        "(PipelineInspector.on_pipeline({pipeline!r}, [{data!r}]).add_inspection(RowLineage(5))"
        ".add_inspection(HistogramForColumns(['country'])).add_check(NoBiasIntroducedFor(['country'])).execute())\n"),
}


def _generator():
    path = os.path.join(ROOT, "example_pipelines", "creditcard_spark", "generate_data.py")
    spec = importlib.util.spec_from_file_location("creditcard_spark_generate_data", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(code: str):
    """Wall seconds and peak RSS (MB) of one fresh Python process running ``code``."""
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    error = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"benchmark process failed:\n{error[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--keep", help="folder for the generated data (default: a temporary one)")
    arguments = parser.parse_args()
    generator = _generator()
    with tempfile.TemporaryDirectory() as scratch:
        for mails in arguments.mails:
            data = os.path.join(arguments.keep or scratch, f"mails_{mails}")
            if not os.path.exists(os.path.join(data, "mails.csv")):
                generator.write(data, mails)
            plain = None
            for mode, template in MODES.items():
                elapsed, peak = _run(template.format(pipeline=PIPELINE, data=data))
                plain = plain or elapsed
                print(f"{mails:>10,} mails  {mode:<24} {elapsed:8.1f} s  {elapsed / plain:5.2f}x plain  "
                      f"driver (Python) peak {peak:7.0f} MB", flush=True)


if __name__ == "__main__":
    main()
