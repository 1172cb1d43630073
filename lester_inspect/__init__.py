"""lester-inspect: inspect, check and clean native pandas + scikit-learn ML pipelines.

The top-level names are imported on first use, so that ``import lester_inspect``
costs next to nothing (no pandas, scikit-learn, torch, openai or duckdb).
"""

__version__ = "0.1.0"
__all__ = ["PipelineInspector", "InspectorResult"]


def __getattr__(name):
    if name == "PipelineInspector":
        from lester_inspect.inspector import PipelineInspector

        return PipelineInspector
    if name == "InspectorResult":
        from lester_inspect.result import InspectorResult

        return InspectorResult
    raise AttributeError(f"module 'lester_inspect' has no attribute {name!r}")


def load_ipython_extension(ipython):
    """``%load_ext lester_inspect`` in Jupyter/IPython: the ``%%inspect`` cell magic (lester_inspect.notebook)."""
    from lester_inspect.notebook import load_ipython_extension as load

    load(ipython)
