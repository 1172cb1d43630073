"""Backends map library calls to DAG operators: one module per library."""


def all_backends():
    from lester_inspect.backends.pandas_backend import PandasBackend
    from lester_inspect.backends.sklearn_backend import SklearnBackend
    from lester_inspect.spark.backend import SparkBackend

    return [PandasBackend, SklearnBackend, SparkBackend]
