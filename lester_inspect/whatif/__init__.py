"""What-if analyses: the pipeline's variants (corrupted data, ...) run sharing what they do not change.

``PipelineInspector.on_pipeline(path).add_what_if(DataCorruption({...})).execute()`` runs the
pipeline once, instrumented, keeping its model's fit and score calls (``capture.py``); each
analysis then runs its variants from those (``execution.py`` states the rules) and
``InspectorResult.what_if`` holds one frame per analysis (variant x metric).
"""
from lester_inspect.whatif.analyses import (DataCleaning, DataCorruption, FeasibilityStudy, OperatorImpact,
                                           PermutationFeatureImportance,
                                           WhatIfAnalysis)
from lester_inspect.whatif.execution import SharedExecution, Variant
from lester_inspect.whatif.patches import WhatIfError
from lester_inspect.whatif.run import run_analyses, what_if_summary

__all__ = ["DataCleaning", "DataCorruption", "FeasibilityStudy", "OperatorImpact", "PermutationFeatureImportance",
           "SharedExecution", "Variant", "WhatIfAnalysis", "WhatIfError", "run_analyses", "what_if_summary"]
