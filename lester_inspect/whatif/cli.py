"""``lester-inspect run --what-if KIND[:VALUE]``: an analysis named in one word, and its table printed."""
from __future__ import annotations

from typing import Callable, Dict, List, Tuple

from lester_inspect.whatif.patches import WhatIfError


def _pairs(value: str, what: str, default=None) -> Dict[str, object]:
    """``a=x,b,c=y`` as {a: x, b: default, c: y}; repeated keys collect their values in a list."""
    pairs: Dict[str, object] = {}
    for item in filter(None, value.split(",")):
        key, _, given = item.partition("=")
        given = given or default
        if given is None:
            raise WhatIfError(f"{what}: '{item}' needs a value ({key}=...)")
        if key in pairs:
            earlier = pairs[key]
            pairs[key] = (earlier if isinstance(earlier, list) else [earlier]) + [given]
        else:
            pairs[key] = given
    return pairs


def _corruption(value: str):
    from lester_inspect.whatif.analyses import ALL, DataCorruption

    return DataCorruption(_pairs(value, "corruption", default=ALL))


def _importance(value: str):
    from lester_inspect.whatif.analyses import PermutationFeatureImportance

    return PermutationFeatureImportance(value.split(",") if value else None)


def _operator_impact(value: str):
    from lester_inspect.whatif.analyses import OperatorImpact

    return OperatorImpact(value.split(",") if value else ())


def _cleaning(value: str):
    from lester_inspect.whatif.analyses import DataCleaning

    return DataCleaning(_pairs(value, "cleaning"))


def _feasibility(value: str):
    from lester_inspect.whatif.analyses import FeasibilityStudy

    try:
        target = float(value)
    except ValueError:
        raise WhatIfError(f"feasibility needs a target accuracy between 0 and 1 (feasibility:0.9), got {value!r}")
    return FeasibilityStudy(target)


#: Per kind: its form on the command line, whether it needs a value, and the analysis it makes.
KINDS: Dict[str, Tuple[str, bool, Callable]] = {
    "corruption": ("corruption:COLUMN[=KIND][,COLUMN[=KIND]...]  (KIND defaults to every corruption that "
                   "applies to the column)", True, _corruption),
    "importance": ("importance[:COLUMN,...]  (permutation feature importance)", False, _importance),
    "operator-impact": ("operator-impact[:GROUP,...]  (each filter dropped, each transformer made neutral)", False,
                        _operator_impact),
    "cleaning": ("cleaning:COLUMN=METHOD[,...]  (e.g. age=impute_mean, *=drop_duplicates)", True, _cleaning),
    "feasibility": ("feasibility:TARGET  (is accuracy TARGET realistic? e.g. feasibility:0.9)", True, _feasibility),
}
CHOICES_HELP = "; ".join(form for form, _, _ in KINDS.values())


def parse_what_if_option(option: str):
    """The analysis ``--what-if option`` names; a ``WhatIfError`` listing the choices for anything else."""
    kind, _, value = option.partition(":")
    if kind not in KINDS:
        raise WhatIfError(f"unknown what-if analysis {kind!r} in --what-if {option}; choose one of: "
                          + "; ".join(form.split("  ")[0] for form, _, _ in KINDS.values()))
    form, needs_value, make = KINDS[kind]
    if needs_value and not value:
        raise WhatIfError(f"--what-if {option}: {kind} needs a value: {form}")
    return make(value)


def what_if_tables(result) -> List[str]:
    """Per analysis its title, its table (variant x metric) and the notes on rules that did not apply."""
    import pandas as pd

    lines = []
    for analysis, frame in result.what_if.items():
        lines.append(f"What-if {analysis!r}:")
        with pd.option_context("display.width", 200, "display.max_columns", None, "display.max_colwidth", 60):
            lines.extend("  " + line for line in frame.to_string(index=False).splitlines())
        lines.extend(f"  note: {note}" for note in frame.attrs.get("notes", []))
    return lines
