"""Inspections: analyses computed per operator while the pipeline runs."""
from lester_inspect.inspections.base import Inspection

__all__ = ["Inspection"]
