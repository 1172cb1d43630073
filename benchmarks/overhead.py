"""Overhead of the instrumented run over plain Python, on the healthcare pipeline.

For each size (patients) it generates the data once, then runs the pipeline in
fresh processes, interleaving the modes, and prints the median wall time of the
whole process (imports included) and its peak memory, as ratios to the plain run:

    python benchmarks/overhead.py                      # 10k, 100k and 1M patients, 3 repetitions
    python benchmarks/overhead.py --sizes 10000 --repetitions 1

Modes: ``plain`` (``python pipeline.py DATA``), ``instrumented`` (no inspections),
``inspected`` (RowLineage(5), HistogramForColumns and NoBiasIntroducedFor on race and
age_group).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PIPELINE = os.path.join(ROOT, "example_pipelines", "healthcare", "pipeline.py")
MODES = ("plain", "instrumented", "inspected")

# Runs inside the measured process; reports its own peak RSS (KiB) on the last line of stderr.
_RUNNER = r"""
import resource, runpy, sys
mode, pipeline, data = sys.argv[1:4]
if mode == "plain":
    sys.argv = [pipeline, data]
    runpy.run_path(pipeline, run_name="__main__")
else:
    from lester_inspect import PipelineInspector
    inspector = PipelineInspector.on_pipeline(pipeline, args=[data])
    if mode == "inspected":
        from lester_inspect.checks import NoBiasIntroducedFor
        from lester_inspect.inspections import HistogramForColumns, RowLineage
        inspector.add_inspections([RowLineage(5), HistogramForColumns(["race", "age_group"])])
        inspector.add_check(NoBiasIntroducedFor(["race", "age_group"]))
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


def measure(mode: str, data: str) -> tuple:
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-c", _RUNNER, mode, PIPELINE, data], capture_output=True,
                               text=True, env=dict(os.environ, PYTHONPATH=ROOT))
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"{mode} run failed on {data}:\n{completed.stderr}")
    return elapsed, int(completed.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(), "lester-inspect-benchmarks"))
    parser.add_argument("--json", help="also write the measurements to this file")
    arguments = parser.parse_args()
    modes = ["plain", *(m for m in arguments.modes if m != "plain")]
    rows = []
    print(f"{'patients':>9} {'mode':<13} {'wall s':>8} {'x plain':>8} {'peak MiB':>9} {'x plain':>8}")
    for size in arguments.sizes:
        data = generate(size, arguments.data_dir)
        samples = {mode: [] for mode in modes}
        for _ in range(arguments.repetitions):
            for mode in modes:
                samples[mode].append(measure(mode, data))
        plain_time = statistics.median(t for t, _ in samples["plain"])
        plain_memory = statistics.median(m for _, m in samples["plain"])
        for mode in modes:
            wall = statistics.median(t for t, _ in samples[mode])
            memory = statistics.median(m for _, m in samples[mode])
            rows.append({"patients": size, "mode": mode, "wall_s": wall, "time_ratio": wall / plain_time,
                         "peak_mib": memory, "memory_ratio": memory / plain_memory})
            print(f"{size:>9} {mode:<13} {wall:>8.2f} {wall / plain_time:>8.2f} {memory:>9.0f} "
                  f"{memory / plain_memory:>8.2f}", flush=True)
    if arguments.json:
        with open(arguments.json, "w") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
