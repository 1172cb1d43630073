"""Backends map library calls to DAG operators: one module per library."""


def all_backends():
    from lester_inspect.backends.pandas_backend import PandasBackend
    from lester_inspect.backends.numpy_backend import NumpyBackend
    from lester_inspect.backends.sklearn_backend import SklearnBackend
    from lester_inspect.backends.statsmodels_backend import StatsmodelsBackend

    # numpy last: its hooks ask the other backends for their hooked calls when it is installed.
    return [PandasBackend, SklearnBackend, StatsmodelsBackend, NumpyBackend]
