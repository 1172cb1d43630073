"""Running a user's pipeline under instrumentation: source loading, patching, the DAG."""
from lester_inspect.instrumentation.dag import CodeLocation, DagNode, FunctionInfo, OperatorType

__all__ = ["CodeLocation", "DagNode", "FunctionInfo", "OperatorType"]
