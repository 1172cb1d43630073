"""Checks: verdicts over the DAG and the inspection results."""
from lester_inspect.checks.base import Check, CheckConfigurationError, CheckResult, CheckStatus
from lester_inspect.checks.bias import NoBiasAccumulatedFor, NoBiasIntroducedFor, SimilarRemovalProbabilitiesFor
from lester_inspect.checks.data_quality import NoDuplicateRows, NoLabelShift, NoTrainTestOverlap
from lester_inspect.checks.features import NoIllegalFeatures, NoMissingEmbeddings
from lester_inspect.checks.screening import (GroupFairness, NoConstantFeatures, NoPersonalDataInFeatures,
                                             NoPreprocessingLeakage, NoUnnormalisedFeatures)
from lester_inspect.checks.screening_models import NoCovariateShift, NoLabelErrors

__all__ = [
    "Check", "CheckConfigurationError", "CheckResult", "CheckStatus", "NoBiasAccumulatedFor", "NoBiasIntroducedFor", "NoDuplicateRows",
    "NoIllegalFeatures", "NoLabelShift", "NoMissingEmbeddings", "NoTrainTestOverlap",
    "SimilarRemovalProbabilitiesFor",
]
__all__ += ["GroupFairness", "NoConstantFeatures", "NoPersonalDataInFeatures", "NoPreprocessingLeakage",
            "NoUnnormalisedFeatures", "NoCovariateShift", "NoLabelErrors"]
