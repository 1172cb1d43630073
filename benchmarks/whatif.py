"""What-if analyses vs naive re-execution of every variant, on the adult_like pipeline.

For each size it generates the data with the example's generator, then, in this process
(after one untimed warm-up of both kinds on small data, so both sides run with their
libraries imported):

* ours: ``PipelineInspector.on_pipeline(pipeline.py).add_what_if(analysis).execute()`` —
  the instrumented plain run plus every variant (``whatif/execution.py``'s rules); the
  median of ``--ours-repeats`` runs (one run takes a few seconds, and on a shared machine
  a single one can be hit by another process' burst; the naive total is a sum over many
  runs, which averages such bursts out);
* naive: the plain script and each variant's modified script (``whatif/scratch.py``: the
  corruption inserted at the model's score call) run from scratch, plainly, one after
  the other. Above ``--sample-above`` rows only ``--naive-sample`` variants (spread evenly
  over the list) and the plain script are run, and the naive total is their mean time
  times (variants + 1): the output marks such totals as extrapolated.

The naive scores measured are compared with ours (they must be equal). Both sides run in
this process, so both wall time and CPU time (``time.process_time``) are printed: on a
shared machine the wall times, and so their ratio, move with the other processes' load
(``load``: the 1-minute load average when the row was printed); CPU time measures the work
done and moves much less. Two analyses: a
data corruption with 33 variants (11 column/corruption pairs x fractions 0.1, 0.5, 0.9)
and permutation feature importance over the 12 input columns.

    python benchmarks/whatif.py                          # 100k and 1M rows
    python benchmarks/whatif.py --sizes 20000            # quick
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "example_pipelines", "adult_like")
PIPELINE = os.path.join(EXAMPLE, "pipeline.py")
sys.path.insert(0, ROOT)

from lester_inspect import PipelineInspector  # noqa: E402
from lester_inspect.whatif import DataCorruption, PermutationFeatureImportance  # noqa: E402
from lester_inspect.whatif.scratch import run_from_scratch  # noqa: E402
from lester_inspect.whatif.execution import Variant  # noqa: E402

CORRUPTIONS = {
    "hours_per_week": ["gaussian_noise", "scaling"],
    "capital_gain": ["gaussian_noise", "scaling"],
    "education_num": ["gaussian_noise", "scaling"],
    "education": ["broken_characters", "category_shift"],
    "occupation": ["category_shift", "missing_values"],
    "workclass": "category_shift",
}
FRACTIONS = [0.1, 0.5, 0.9]


def analyses():
    return [("data corruption", DataCorruption(CORRUPTIONS, fractions=FRACTIONS)),
            ("feature importance", PermutationFeatureImportance())]


def generate(rows: int, work_dir: str) -> str:
    folder = os.path.join(work_dir, f"adult_{rows}")
    if not os.path.exists(os.path.join(folder, "adult.csv")):
        spec = importlib.util.spec_from_file_location("adult_generate_data", os.path.join(EXAMPLE, "generate_data.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.write(folder, rows)
    return folder


def _clocks():
    return time.perf_counter(), time.process_time()


def _since(started):
    now = _clocks()
    return now[0] - started[0], now[1] - started[1]


def ours(analysis, data: str):
    """(wall seconds, CPU seconds) of the inspected run with the analysis, and its result."""
    started = _clocks()
    with contextlib.redirect_stdout(io.StringIO()):
        result = PipelineInspector.on_pipeline(PIPELINE, args=[data]).add_what_if(analysis).execute()
    return _since(started), result


def naive(result, analysis, data: str, sample: int):
    """(Wall, CPU) seconds for the plain script and every variant (measured, or extrapolated from ``sample`` of
    them), how many were measured of how many, and their scores."""
    execution = result.what_if_execution
    variants = analysis.variants(execution)
    chosen = variants if sample >= len(variants) else [
        variants[round(i * (len(variants) - 1) / max(sample - 1, 1))] for i in range(sample)]
    times, scores = [], {}
    for variant in [Variant("plain"), *chosen]:
        started = _clocks()
        try:
            scores[variant.name] = run_from_scratch(PIPELINE, execution.fit.location, execution.score.location,
                                                    variant, [data], execution.metric_location)["score"]
        except Exception as error:  # the pipeline fails on this variant, as ours records
            scores[variant.name] = f"{type(error).__name__}"
        times.append(_since(started))
    scale = 1 if len(chosen) == len(variants) else (len(variants) + 1) / len(times)
    total = tuple(sum(clock) * scale for clock in zip(*times))
    return total, len(chosen), len(variants), scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--sample-above", type=int, default=200_000)
    parser.add_argument("--naive-sample", type=int, default=3)
    parser.add_argument("--ours-repeats", type=int, default=3)
    parser.add_argument("--work-dir", default=os.path.join(tempfile.gettempdir(), "lester-inspect-whatif"))
    arguments = parser.parse_args()

    warm = generate(2_000, arguments.work_dir)
    for _, analysis in analyses():
        _, result = ours(analysis, warm)
        naive(result, analysis, warm, 1)

    print(f"{'rows':>9}  {'analysis':<19} {'variants':>8}  {'naive s':>9}  {'ours s':>7}  {'speed-up':>8}  "
          f"{'naive cpu s':>11}  {'ours cpu s':>10}  {'cpu speed-up':>12}  {'load':>5}  note")
    for rows in arguments.sizes:
        data = generate(rows, arguments.work_dir)
        for name, analysis in analyses():
            runs = []
            for _ in range(arguments.ours_repeats):
                result = None  # one result at a time: at 1M rows each holds the captured frames
                seconds, result = ours(analysis, data)
                runs.append(seconds)
            ours_time, ours_cpu = sorted(runs)[len(runs) // 2]
            sample = arguments.naive_sample if rows > arguments.sample_above else 10 ** 9
            (naive_time, naive_cpu), measured, total, scores = naive(result, analysis, data, sample)
            frame = result.what_if[analysis].set_index("variant")
            ours_scores = {v: (frame.loc[v, "score"] if isinstance(frame.loc[v, "error"], float)
                               or frame.loc[v, "error"] is None else frame.loc[v, "error"].split(":")[0])
                           for v in scores}
            equal = all(ours_scores[v] == s for v, s in scores.items())
            note = (f"naive: {measured} of {total} variants + plain run, total extrapolated"
                    if measured < total else f"naive: all {total} variants + plain run")
            note += f"; ours: median of {len(runs)}"
            print(f"{rows:>9}  {name:<19} {total:>8}  {naive_time:>9.1f}  {ours_time:>7.1f}  "
                  f"{naive_time / ours_time:>7.1f}x  {naive_cpu:>11.1f}  {ours_cpu:>10.1f}  "
                  f"{naive_cpu / ours_cpu:>11.1f}x  {os.getloadavg()[0]:>5.1f}  {note}; "
                  f"scores equal: {'yes' if equal else 'NO'}", flush=True)
            if not equal:
                raise SystemExit(f"scores differ: naive {scores} ours {ours_scores}")
    print(f"load average (1, 5, 15 min): {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
