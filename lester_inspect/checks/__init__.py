"""Checks: verdicts over the DAG and inspection results."""
from lester_inspect.checks.base import Check, CheckResult, CheckStatus

__all__ = ["Check", "CheckResult", "CheckStatus"]
