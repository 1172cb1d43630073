"""Running a run's what-if analyses after the pipeline, and their lines in the summary."""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import pandas as pd

from lester_inspect.whatif.capture import ModelCapture
from lester_inspect.whatif.execution import SharedExecution


def run_analyses(capture: ModelCapture, analyses: Sequence, result=None, args: Sequence[str] = ()
                 ) -> Tuple[SharedExecution, Dict[object, pd.DataFrame]]:
    """The execution the variants share, and one result frame per analysis.

    A frame's ``attrs["notes"]`` say which optimisation rules did not apply to it.
    """
    execution = SharedExecution(*capture.model_calls(), path=capture.pipeline_path, args=args, trace=capture.trace,
                                tree=capture.source_tree)
    results = {}
    for analysis in analyses:
        frame = analysis.evaluate(execution, result)
        frame.attrs["notes"] = list(execution.notes)
        results[analysis] = frame
    return execution, results


def what_if_summary(results: Dict[object, pd.DataFrame]) -> List[str]:
    """Per analysis its own lines, then the notes on rules that did not apply."""
    lines = []
    for analysis, frame in results.items():
        lines.extend(analysis.summary_lines(frame))
        lines.extend(f"  note: {note}" for note in frame.attrs.get("notes", []))
    return lines
