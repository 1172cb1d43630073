"""Overhead of the instrumented run over plain Python.

Every measurement runs the pipeline in fresh processes, interleaving the modes, and
prints the median wall time of the whole process (imports included) and its peak
memory, as ratios to the plain run measured in the same invocation:

    python benchmarks/overhead.py                      # healthcare: 10k, 100k and 1M patients
    python benchmarks/overhead.py --sizes 10000 --repetitions 1
    python benchmarks/overhead.py --case startup       # a three-line pandas script: the fixed cost
    python benchmarks/overhead.py --case loop          # 4,000 small pandas calls on a 5,000-row frame

Modes: ``plain`` (``python pipeline.py DATA``), ``instrumented`` (no inspections),
``inspected`` (RowLineage(5) and HistogramForColumns on the sensitive columns, plus
NoBiasIntroducedFor on the healthcare pipeline).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PIPELINE = os.path.join(ROOT, "example_pipelines", "healthcare", "pipeline.py")
MODES = ("plain", "instrumented", "inspected")
# The fixed cost: what a pipeline pays for the instrumentation before its first operator.
STARTUP = """import pandas as pd
df = pd.DataFrame({"a": [1, 2, 3], "g": ["x", "y", "x"]})
print(df[df["a"] > 1].shape)
"""
# The per-operator cost: a notebook-style loop of 1,000 rounds of 4 small pandas calls on 5,000 rows.
LOOP = """import numpy as np
import pandas as pd
rng = np.random.default_rng(0)
df = pd.DataFrame({"a": rng.integers(0, 100, 5000), "b": rng.normal(size=5000), "g": rng.choice(["x", "y"], 5000)})
total = 0.0
for round in range(1000):
    part = df[df["a"] > round % 100]
    part = part.dropna()
    ordered = part.sort_values("b")
    total += ordered.head(10)["b"].sum()
print(round, f"{total:.3f}")
"""
SENSITIVE = {"healthcare": ["race", "age_group"], "startup": ["g"], "loop": ["g"]}

# Runs inside the measured process; reports its own peak RSS (KiB) on the last line of stderr.
_RUNNER = r"""
import resource, runpy, sys
mode, pipeline, data, columns = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(",")
if mode == "plain":
    sys.argv = [pipeline, data]
    runpy.run_path(pipeline, run_name="__main__")
else:
    from lester_inspect import PipelineInspector
    inspector = PipelineInspector.on_pipeline(pipeline, args=[data])
    if mode == "inspected":
        from lester_inspect.inspections import HistogramForColumns, RowLineage
        inspector.add_inspections([RowLineage(5), HistogramForColumns(columns)])
        if "race" in columns:
            from lester_inspect.checks import NoBiasIntroducedFor
            inspector.add_check(NoBiasIntroducedFor(columns))
    inspector.execute()
sys.stdout.flush()
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def generate(patients: int, directory: str) -> str:
    target = os.path.join(directory, f"healthcare_{patients}")
    if not os.path.exists(os.path.join(target, "histories.csv")):
        subprocess.run([sys.executable, os.path.join(ROOT, "example_pipelines", "healthcare", "generate_data.py"),
                        target, "--rows", str(patients)], check=True)
    return target


def script(case: str, directory: str) -> str:
    path = os.path.join(directory, f"{case}.py")
    os.makedirs(directory, exist_ok=True)
    with open(path, "w") as handle:
        handle.write(STARTUP if case == "startup" else LOOP)
    return path


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(mode: str, pipeline: str, data: str, columns) -> tuple:
    """Wall seconds, peak MiB and CPU seconds (user + system) of one whole process."""
    started, cpu = time.perf_counter(), _cpu_of_children()
    completed = subprocess.run([sys.executable, "-c", _RUNNER, mode, pipeline, data, ",".join(columns)],
                               capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=ROOT))
    elapsed, cpu = time.perf_counter() - started, _cpu_of_children() - cpu
    if completed.returncode != 0:
        raise SystemExit(f"{mode} run failed on {data}:\n{completed.stderr}")
    return elapsed, int(completed.stderr.strip().splitlines()[-1]) / 1024, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", choices=sorted(SENSITIVE), default="healthcare")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000],
                        help="patients of the healthcare case")
    parser.add_argument("--repetitions", type=int, default=None, help="runs per mode (3; 5 for startup and loop)")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(), "lester-inspect-benchmarks"))
    parser.add_argument("--json", help="also write the measurements to this file")
    arguments = parser.parse_args()
    modes = ["plain", *(m for m in arguments.modes if m != "plain")]
    case, columns = arguments.case, SENSITIVE[arguments.case]
    repetitions = arguments.repetitions or (3 if case == "healthcare" else 5)
    sizes = arguments.sizes if case == "healthcare" else [0]
    rows = []
    # CPU seconds are printed beside wall seconds: on a shared machine they are the steadier figure.
    print(f"{'patients' if case == 'healthcare' else 'case':>9} {'mode':<13} {'wall s':>8} {'x plain':>8} "
          f"{'cpu s':>8} {'x plain':>8} {'peak MiB':>9} {'x plain':>8}")
    for size in sizes:
        if case == "healthcare":
            pipeline, data = PIPELINE, generate(size, arguments.data_dir)
        else:
            pipeline, data = script(case, arguments.data_dir), "-"
        samples = {mode: [] for mode in modes}
        for _ in range(repetitions):
            for mode in modes:
                samples[mode].append(measure(mode, pipeline, data, columns))
        median = {mode: [statistics.median(sample[i] for sample in samples[mode]) for i in range(3)]
                  for mode in modes}
        plain_time, plain_memory, plain_cpu = median["plain"]
        for mode in modes:
            wall, memory, cpu = median[mode]
            rows.append({"case": case, "patients": size, "mode": mode, "wall_s": wall, "time_ratio": wall / plain_time,
                         "cpu_s": cpu, "cpu_ratio": cpu / plain_cpu, "peak_mib": memory,
                         "memory_ratio": memory / plain_memory})
            print(f"{size if case == 'healthcare' else case:>9} {mode:<13} {wall:>8.2f} {wall / plain_time:>8.2f} "
                  f"{cpu:>8.2f} {cpu / plain_cpu:>8.2f} {memory:>9.0f} {memory / plain_memory:>8.2f}", flush=True)
            if mode != "plain":
                print(f"{'':>9} {'':<13} added: {wall - plain_time:+.2f} s wall, {cpu - plain_cpu:+.2f} s cpu")
    if arguments.json:
        with open(arguments.json, "w") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
