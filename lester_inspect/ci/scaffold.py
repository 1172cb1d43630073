"""``lester-inspect init-ci``: a commented example configuration and a GitHub Actions workflow."""
from __future__ import annotations

import os
from typing import List

CONFIG_FILE = "lester.toml"
WORKFLOW_FILE = os.path.join(".github", "workflows", "lester-inspect.yml")

EXAMPLE_CONFIG = '''\
# lester-inspect CI configuration: `lester-inspect ci` runs every pipeline below under
# instrumentation and judges it. Exit code 0: all passed; 1: a check or condition failed;
# 2: a configuration or pipeline error. Warnings fail the job only with --fail-on-warning.
# Documentation: docs/ci.md of lester-inspect.

[[pipelines]]
# The pipeline script (or .ipynb notebook), relative to this file or absolute.
path = "pipelines/train.py"
# Optional: arguments for the script (its sys.argv[1:]), a display name (default: the path),
# extra columns to show as histograms in the HTML report.
# args = ["data/"]
# name = "training"
# report_columns = ["income"]

# Checks, by the kebab-case names of lester_inspect.checks, with their parameters.
[pipelines.checks]
no-bias-introduced-for = { columns = ["race"], min_allowed_relative_ratio_change = -0.3 }
no-illegal-features = {}
# no-bias-accumulated-for = { columns = ["race"] }
# similar-removal-probabilities-for = { columns = ["race"], max_removal_probability_ratio = 2.0 }
# no-missing-embeddings = { threshold = 0.1 }
# no-train-test-overlap = {}
# no-duplicate-rows = {}
# no-label-shift = { significance = 0.01 }
# no-preprocessing-leakage = {}
# no-personal-data-in-features = { names = ["Ana", "Lopez"] }
# no-constant-features = {}
# no-unnormalised-features = {}
# group-fairness = { column = "race", metric = "accuracy", max_difference = 0.1 }
# These two fit models of their own (5 folds, up to 5,000 rows): seconds, not milliseconds.
# no-covariate-shift = { threshold = 0.6 }
# no-label-errors = { max_fraction = 0.05, method = "noise-rate" }

# Model conditions (after ease.ml/ci) over the pipeline's last model.score(X_test, y_test):
#   n  the new model's test accuracy
#   o  the accuracy of the model captured on the main branch, on the same test examples
#   d  the fraction of test predictions that changed since then
# A clause is `expression <, <=, > or >= threshold +/- tolerance`; join clauses with /\\ (and).
# The CI needs as many test examples as Hoeffding's bound asks for the reliability (it says
# how many when the test set is too small) and counts the steps each test set has been used:
#   adaptivity = "none"          the models were fixed in advance (delta / steps)
#              = "full"          each model may depend on earlier verdicts (delta / 2^steps)
#              = "first-change"  the test set retires when the verdict first changes
#   mode = "fp-free"  an uncertain verdict fails (a pass is never wrong), or "fn-free"
# `lester-inspect ci --capture` (on the main branch) records the model's test predictions
# in the store; `lester-inspect ci` (on pull requests) evaluates the conditions against it.
[[pipelines.conditions]]
condition = 'n - o > -0.02 +/- 0.05 /\\ d < 0.2 +/- 0.05'   # 'single quotes': no escapes
reliability = 0.99
adaptivity = "full"
steps = 8
mode = "fp-free"

# Where captured predictions and step counts are kept (default ".lester", relative to this file).
# store = ".lester"
# Whether --capture runs record this pipeline's predictions (default: true when it has conditions).
# capture = true
'''

WORKFLOW = '''\
# Runs lester-inspect's checks and model conditions on every pull request, and captures the
# main branch's model as the baseline that pull requests are compared with.
name: lester-inspect

on:
  push:
    branches: [main]
  pull_request:

jobs:
  inspect:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: Install the pipeline's dependencies and lester-inspect
        run: |
          if [ -f requirements.txt ]; then pip install -r requirements.txt; fi
          pip install lester-inspect
      # The store (.lester) keeps the main branch's captured predictions and the steps each
      # test set has used. GitHub scopes caches by branch: a pull request sees main's cache,
      # and the step counts of its own earlier runs.
      - name: Restore the store
        uses: actions/cache/restore@v4
        with:
          path: .lester
          key: lester-${{ github.ref }}-${{ github.sha }}
          restore-keys: |
            lester-${{ github.ref }}-
            lester-refs/heads/main-
      - name: Checks and model conditions
        run: >
          lester-inspect ci --config lester.toml
          --junit lester-junit.xml --summary lester-summary.md --report lester-report.html
          ${{ github.event_name == 'push' && '--capture' || '' }}
      - name: Save the store
        if: always()
        uses: actions/cache/save@v4
        with:
          path: .lester
          key: lester-${{ github.ref }}-${{ github.sha }}
      - name: Upload the reports
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: lester-inspect-reports
          path: |
            lester-junit.xml
            lester-summary.md
            lester-report.html
'''


class ScaffoldError(RuntimeError):
    """A file ``init-ci`` would write exists already."""


def write_scaffold(directory: str, force: bool = False) -> List[str]:
    """Write the example configuration and the workflow into ``directory``; returns their paths."""
    targets = [(os.path.join(directory, CONFIG_FILE), EXAMPLE_CONFIG),
               (os.path.join(directory, WORKFLOW_FILE), WORKFLOW)]
    existing = [path for path, _ in targets if os.path.exists(path)]
    if existing and not force:
        raise ScaffoldError(f"{existing[0]} exists already; pass --force to overwrite it")
    for path, text in targets:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    return [path for path, _ in targets]
