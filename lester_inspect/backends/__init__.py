"""Backends map library calls to DAG operators: one module per library.

``BACKENDS`` maps the library whose import makes a backend needed (its top-level
module) to the backend class, named as text: a library the pipeline never imports
is neither imported nor patched (see ``instrumentation/imports.py``).
"""
import importlib

BACKENDS = {
    "numpy": "lester_inspect.backends.numpy_backend:NumpyBackend",
    "scipy.sparse": "lester_inspect.backends.numpy_backend:SparseBackend",
    "pandas": "lester_inspect.backends.pandas_backend:PandasBackend",
    "sklearn": "lester_inspect.backends.sklearn_backend:SklearnBackend",
    "statsmodels": "lester_inspect.backends.statsmodels_backend:StatsmodelsBackend",
    "pyspark": "lester_inspect.spark.backend:SparkBackend",
    "pyspark.ml": "lester_inspect.spark.ml:SparkMlBackend",
}


def load_backend(path: str) -> type:
    """The backend class named ``module:Class``."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)
