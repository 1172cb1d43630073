"""Backends map library calls to DAG operators: one module per library."""


def all_backends():
    from lester_inspect.backends.pandas_backend import PandasBackend
    from lester_inspect.backends.sklearn_backend import SklearnBackend

    return [PandasBackend, SklearnBackend]
