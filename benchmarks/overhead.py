"""Overhead of the instrumented run over plain Python.

Every measurement runs the pipeline in fresh processes, interleaving the modes, and
prints the median wall time of the whole process (imports included) and its peak
memory, as ratios to the plain run measured in the same invocation:

    python benchmarks/overhead.py                      # healthcare: 10k, 100k and 1M patients
    python benchmarks/overhead.py --sizes 10000 --repetitions 1
    python benchmarks/overhead.py --case startup       # a three-line pandas script: the fixed cost
    python benchmarks/overhead.py --case loop          # 4,000 small pandas calls on a 5,000-row frame
    python benchmarks/overhead.py --case checks        # each screening check alone, on 10k, 100k and 1M rows

Modes: ``plain`` (``python pipeline.py DATA``), ``instrumented`` (no inspections),
``inspected`` (RowLineage(5) and HistogramForColumns on the sensitive columns, plus
NoBiasIntroducedFor on the healthcare pipeline).
"""
from __future__ import annotations

import argparse
import compileall
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


def byte_compile() -> None:
    """Compile lester_inspect's modules once, as installing the package does.

    The measured processes then read bytecode, as they do for pandas; with
    PYTHONDONTWRITEBYTECODE set (as in some CI and container setups) every instrumented
    process would otherwise compile the whole package from source (~50 ms) and count it.
    """
    compileall.compile_dir(os.path.join(ROOT, "lester_inspect"), quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", choices=sorted([*SENSITIVE, "checks"]), default="healthcare")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000],
                        help="patients of the healthcare case")
    parser.add_argument("--repetitions", type=int, default=None, help="runs per mode (3; 5 for startup and loop)")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(), "lester-inspect-benchmarks"))
    parser.add_argument("--json", help="also write the measurements to this file")
    arguments = parser.parse_args()
    byte_compile()
    if arguments.case == "checks":
        return checks_main(arguments)
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



# -- --case checks: the cost of each screening check (issue 15), apart from the cases above ----------------------

# A featuriser and a model on the screening examples' generated customers (an email, a group, a label column).
SCREENED = """import sys
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
data = pd.read_csv(sys.argv[1])
train, test = train_test_split(data, test_size=0.25, random_state=0)
features = ColumnTransformer([("num", StandardScaler(), ["income", "tenure"]), ("cat", OneHotEncoder(), ["city"])])
model = Pipeline([("features", features), ("model", LogisticRegression())]).fit(train, train["label"])
print(model.score(test, test["label"]))
"""
# What each mode adds to the instrumented run: one check (by its command-line name) or the DataValue inspection.
SCREENING = ["no-preprocessing-leakage", "no-personal-data-in-features", "no-constant-features",
             "no-unnormalised-features", "group-fairness=group", "no-covariate-shift", "no-label-errors",
             "data-value"]
# Exact KNN-Shapley compares every test row with every training row, sorting each test row's distances:
# its cost grows with rows squared (about 3 CPU seconds at 10k rows, so minutes at 100k and hours at 1M).
DATA_VALUE_MAX_ROWS = 10_000

_CHECK_RUNNER = r"""
import resource, runpy, sys
mode, pipeline, data = sys.argv[1], sys.argv[2], sys.argv[3]
if mode == "plain":
    sys.argv = [pipeline, data]
    runpy.run_path(pipeline, run_name="__main__")
else:
    from lester_inspect import PipelineInspector
    inspector = PipelineInspector.on_pipeline(pipeline, args=[data])
    if mode == "data-value":
        from lester_inspect.inspections import DataValue
        inspector.add_inspection(DataValue(5))
    elif mode != "instrumented":
        from lester_inspect.checks.registry import parse_check_option
        inspector.add_check(parse_check_option(mode))
    result = inspector.execute()
    for verdict in result.check_to_check_results.values():
        print(verdict.status.name, verdict.description[:100], file=sys.stderr)
sys.stdout.flush()
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def fits_models(mode: str) -> str:
    if mode in ("plain", "instrumented"):
        return ""
    if mode == "data-value":
        return "no (k-NN)"
    from lester_inspect.checks.registry import parse_check_option

    return "yes" if getattr(parse_check_option(mode), "fits_models", False) else "no"


def customers_csv(rows: int, directory: str) -> str:
    path = os.path.join(directory, f"customers_{rows}.csv")
    if not os.path.exists(path):
        sys.path.insert(0, os.path.join(ROOT, "example_pipelines", "screening"))
        from _data import customers

        os.makedirs(directory, exist_ok=True)
        customers(rows).to_csv(path + ".tmp", index=False)
        os.replace(path + ".tmp", path)
    return path


def checks_main(arguments) -> None:
    """Per size: plain, instrumented, and instrumented plus each screening check alone (one process each)."""
    sys.path.insert(0, ROOT)
    repetitions = arguments.repetitions or 1
    pipeline = os.path.join(arguments.data_dir, "screened.py")
    os.makedirs(arguments.data_dir, exist_ok=True)
    with open(pipeline, "w") as handle:
        handle.write(SCREENED)
    rows = []
    print(f"{'rows':>9} {'mode':<30} {'fits':<9} {'wall s':>8} {'cpu s':>8} {'+cpu s':>8} {'x instr':>8} "
          f"{'peak MiB':>9} verdict")
    for size in arguments.sizes:
        data = customers_csv(size, arguments.data_dir)
        modes = ["plain", "instrumented", *(m for m in SCREENING if m != "data-value" or size <= DATA_VALUE_MAX_ROWS)]
        samples = {mode: [] for mode in modes}
        verdicts = {}
        for _ in range(repetitions):
            for mode in modes:
                started, cpu = time.perf_counter(), _cpu_of_children()
                completed = subprocess.run([sys.executable, "-c", _CHECK_RUNNER, mode, pipeline, data],
                                           capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=ROOT))
                elapsed, cpu = time.perf_counter() - started, _cpu_of_children() - cpu
                if completed.returncode != 0:
                    raise SystemExit(f"{mode} failed on {size} rows:\n{completed.stderr}")
                lines = completed.stderr.strip().splitlines()
                samples[mode].append((elapsed, cpu, int(lines[-1]) / 1024))
                verdicts[mode] = lines[-2] if mode not in ("plain", "instrumented") and len(lines) > 1 else ""
        median = {mode: [statistics.median(s[i] for s in samples[mode]) for i in range(3)] for mode in modes}
        base_cpu = median["instrumented"][1]
        for mode in modes:
            wall, cpu, memory = median[mode]
            rows.append({"case": "checks", "rows": size, "mode": mode, "fits_models": fits_models(mode),
                         "wall_s": wall, "cpu_s": cpu, "added_cpu_s": cpu - base_cpu, "peak_mib": memory,
                         "verdict": verdicts.get(mode, "")})
            added = f"{cpu - base_cpu:>+8.2f} {cpu / base_cpu:>8.2f}" if mode != "plain" else f"{'':>8} {'':>8}"
            print(f"{size:>9} {mode:<30} {fits_models(mode):<9} {wall:>8.2f} {cpu:>8.2f} {added} {memory:>9.0f} "
                  f"{verdicts.get(mode, '')[:60]}", flush=True)
        if size > DATA_VALUE_MAX_ROWS:
            print(f"{size:>9} {'data-value':<30} not run: exact KNN-Shapley sorts {size // 4:,} x {size * 3 // 4:,} "
                  f"distances (its cost grows with rows squared); measured up to {DATA_VALUE_MAX_ROWS:,} rows")
    if arguments.json:
        with open(arguments.json, "w") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
