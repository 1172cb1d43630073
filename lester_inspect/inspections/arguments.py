"""The arguments of every operator call and the hyperparameters of every estimator."""
from __future__ import annotations

from typing import Any, Dict, Optional

from lester_inspect.inspections.base import OperatorData, VectorizedInspection


class ArgumentCapturing(VectorizedInspection):
    """``{argument: value}`` of each operator's call; an estimator's ``get_params(deep=False)``.

    Data arguments (frames, arrays) are shown by their type and shape, not copied.
    """

    def __init__(self):
        pass

    def inspect(self, operator: OperatorData) -> Optional[Dict[str, Any]]:
        return dict(operator.arguments) if operator.arguments else None
