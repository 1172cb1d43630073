"""The what-if analyses: each turns into pipeline variants and a result frame (variant x metric)."""
from __future__ import annotations

from typing import Dict, Iterable, List, Sequence, Tuple, Union

import pandas as pd

from lester_inspect.progress import progress
from lester_inspect.whatif.execution import SharedExecution, Variant
from lester_inspect.whatif.patches import CHANGES, WhatIfError, make_patch, patch_seed

PLAIN = "plain"


class WhatIfAnalysis:
    """An analysis of a pipeline by its variants; ``evaluate`` gives one row per variant."""

    def variants(self, execution: SharedExecution) -> List[Variant]:
        raise NotImplementedError

    def evaluate(self, execution: SharedExecution) -> pd.DataFrame:
        """One row per variant (the plain pipeline first): its labels, ``score`` and ``score_change``.

        A variant the pipeline itself fails on (a transformer refusing missing values) has
        no score and its ``error`` says why, as the modified script would have failed.
        """
        variants = self.variants(execution)
        rows = [{"variant": PLAIN, "score": execution.plain_score, "error": None}]
        for variant in progress(variants, f"what-if: {self!r}", unit="variant"):
            rows.append({"variant": variant.name, **variant.labels, **_scored(execution, variant)})
        frame = pd.DataFrame(rows)
        frame["score_change"] = frame["score"] - execution.plain_score
        return frame[[c for c in frame.columns if c != "error"] + ["error"]]

    def summary_lines(self, frame: pd.DataFrame) -> List[str]:
        """The analysis, the plain score and the three variants that lower it most."""
        lines = [f"What-if {self!r}: {len(frame) - 1} variants, plain score {frame['score'].iloc[0]:.4f}"]
        worst = frame.iloc[1:].dropna(subset=["score"]).sort_values("score_change").head(3)
        lines.extend(f"  {row.variant}: score {row.score:.4f} ({row.score_change:+.4f})" for row in worst.itertuples())
        failed = frame[frame["error"].notna()]
        if len(failed):
            lines.append(f"  {len(failed)} variants fail in the pipeline itself, e.g. {failed['variant'].iloc[0]}: "
                         f"{failed['error'].iloc[0]}")
        return lines


def _scored(execution: SharedExecution, variant: Variant) -> dict:
    try:
        return {"score": execution.run(variant), "error": None}
    except WhatIfError:
        raise
    except Exception as error:  # the pipeline's own failure on this variant is its result
        return {"score": float("nan"), "error": f"{type(error).__name__}: {str(error).splitlines()[0]}"}


Corruption = Union[str, Tuple[str, dict]]


def _corruptions(column: str, given) -> List[Tuple[str, dict]]:
    items = given if isinstance(given, list) else [given]
    result = []
    for item in items:
        name, params = (item, {}) if isinstance(item, str) else item
        if name not in CHANGES or name == "permuted":
            known = ", ".join(sorted(set(CHANGES) - {"permuted"}))
            raise WhatIfError(f"DataCorruption: unknown corruption {name!r} for column '{column}'; known: {known}")
        result.append((name, dict(params)))
    return result


class DataCorruption(WhatIfAnalysis):
    """How the score changes when a fraction of a column's values is corrupted.

    Parameters
    ----------
    corruptions : dict
        ``{column: corruption}``; a corruption is a name (``"missing_values"``,
        ``"gaussian_noise"``, ``"scaling"``, ``"broken_characters"``, ``"category_shift"``),
        a ``(name, params)`` pair (``("swapped_columns", {"other": "income"})``,
        ``("gaussian_noise", {"scale": 2.0})``), or a list of them.
    fractions : the fractions of rows corrupted, one variant each.
    also_train : corrupt the training frame too (each variant then refits the model);
        by default only the test frame is corrupted and the plain run's model is reused.
    seed : the rows and values chosen depend only on it and on the variant.
    """

    def __init__(self, corruptions: Dict[str, Union[Corruption, List[Corruption]]],
                 fractions: Sequence[float] = (0.1, 0.5, 0.9), also_train: bool = False, seed: int = 0):
        if not corruptions:
            raise WhatIfError("DataCorruption needs at least one {column: corruption}")
        self.corruptions = {column: _corruptions(column, given) for column, given in corruptions.items()}
        self.fractions = [float(f) for f in fractions]
        self.also_train = also_train
        self.seed = seed
        for column, items in self.corruptions.items():
            for name, params in items:
                for fraction in self.fractions:
                    make_patch(name, column, fraction, **params)  # errors now, not after the pipeline ran

    def variants(self, execution: SharedExecution) -> List[Variant]:
        columns = execution.test_columns()
        variants = []
        for column, items in self.corruptions.items():
            if column not in columns:
                raise WhatIfError(f"DataCorruption: column '{column}' is not in the frame the model is scored on "
                                  f"at {execution.score.location}; its columns are {', '.join(columns)}")
            for name, params in items:
                for fraction in self.fractions:
                    def patch(side):
                        return make_patch(name, column, fraction,
                                          patch_seed(self.seed, side, column, name, fraction), **params)

                    variants.append(Variant(
                        f"{name}({column}, {fraction:g})",
                        {"column": column, "corruption": name, "fraction": fraction,
                         "corrupted": "train+test" if self.also_train else "test"},
                        train=[patch("train")] if self.also_train else [], test=[patch("test")]))
        return variants

    def __repr__(self) -> str:
        return f"DataCorruption({', '.join(self.corruptions)}, {len(self.fractions)} fractions" + (
            ", also_train" if self.also_train else "") + ")"
