"""What-if analyses: the pipeline's variants (corrupted data, ...) run sharing what they do not change.

``PipelineInspector.on_pipeline(path).add_what_if(DataCorruption({...})).execute()`` runs the
pipeline once, instrumented, keeping its model's fit and score calls (``capture.py``); each
analysis then runs its variants from those (``execution.py`` states the rules) and
``InspectorResult.what_if`` holds one frame per analysis (variant x metric).
"""
import importlib

# Names are imported on first use: `lester-inspect COMMAND` reads the --what-if option's help from
# whatif.cli, and importing the analyses (pandas, scikit-learn) there cost every command ~1 s of CPU.
_MODULE_OF = {"DataCleaning": "analyses", "DataCorruption": "analyses", "FeasibilityStudy": "analyses",
              "OperatorImpact": "analyses", "PermutationFeatureImportance": "analyses", "WhatIfAnalysis": "analyses",
              "SharedExecution": "execution", "Variant": "execution", "WhatIfError": "patches",
              "run_analyses": "run", "what_if_summary": "run"}

__all__ = sorted(_MODULE_OF)


def __getattr__(name):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'lester_inspect.whatif' has no attribute '{name}'")
    value = getattr(importlib.import_module(f"lester_inspect.whatif.{_MODULE_OF[name]}"), name)
    globals()[name] = value
    return value
